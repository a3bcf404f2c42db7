#include "auth/secret_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "util/encoding.h"

namespace mamute::auth {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }

Status WriteAll(int fd, const unsigned char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write master key");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return Status::Ok();
}

// Creates <path> with 32 random bytes, mode 0600; EEXIST is reported to the caller (a concurrent
// creator won: read theirs).
Status CreateKeyFile(const std::string& dir, const std::string& path) {
  unsigned char key[kMasterKeySize];
  if (RAND_bytes(key, sizeof key) != 1) return Status::Internal("RAND_bytes failed");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(key, sizeof key);
    return Status::FromErrno(errno, "create " + path);
  }
  Status st = WriteAll(fd, key, sizeof key);
  OPENSSL_cleanse(key, sizeof key);
  if (st.ok() && ::fsync(fd) != 0) st = Status::FromErrno(errno, "fsync " + path);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st;
  }
  // Make the new name durable too.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Err(Status::FromErrno(errno, "open " + path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Err(Status::FromErrno(e, "stat " + path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Err(Status::FailedPrecondition(path + " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Err(Status::FailedPrecondition(path + " is accessible by group or others; chmod 600 it"));
  }
  if (st.st_size != static_cast<off_t>(kMasterKeySize)) {
    ::close(fd);
    return Err(Status::FailedPrecondition(path + " must hold exactly 32 bytes"));
  }
  std::string key(kMasterKeySize, '\0');
  std::size_t got = 0;
  while (got < key.size()) {
    ssize_t r = ::read(fd, key.data() + got, key.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      ::close(fd);
      OPENSSL_cleanse(key.data(), key.size());
      return Err(Status::FromErrno(e, "read " + path));
    }
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return key;
}

}  // namespace

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<SecretBox> SecretBox::FromKey(std::string_view key) {
  if (key.size() != kMasterKeySize) return Err(Status::InvalidArgument("the master key must be 32 bytes"));
  SecretBox box;
  std::copy(key.begin(), key.end(), box.key_.begin());
  return box;
}

Result<SecretBox> SecretBox::Load(std::string_view data_dir) {
  if (const char* env = std::getenv("MAMUTE_MASTER_KEY"); env != nullptr) {
    std::string_view hex(env);
    auto raw = hex.size() == 2 * kMasterKeySize ? util::HexDecode(hex) : std::nullopt;
    if (!raw) return Err(Status::InvalidArgument("MAMUTE_MASTER_KEY must be 64 hex characters"));
    auto box = FromKey(*raw);
    OPENSSL_cleanse(raw->data(), raw->size());
    return box;
  }
  std::string dir(data_dir);
  std::string path = dir + "/master.key";
  auto key = ReadKeyFile(path);
  if (!key && key.error().code() == Code::kNotFound) {
    Status st = CreateKeyFile(dir, path);
    if (!st.ok() && st.err() != EEXIST) return Err(st);
    key = ReadKeyFile(path);
  }
  if (!key) return Err(key.error());
  auto box = FromKey(*key);
  OPENSSL_cleanse(key->data(), key->size());
  return box;
}

Result<std::string> SecretBox::Seal(std::string_view plaintext, std::string_view aad) const {
  std::string out(kSecretBoxOverhead + plaintext.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kSecretBoxV1;
  unsigned char* nonce = o + 1;
  unsigned char* ct = nonce + kSecretBoxNonceSize;
  unsigned char* tag = ct + plaintext.size();
  if (RAND_bytes(nonce, kSecretBoxNonceSize) != 1) return Err(Status::Internal("RAND_bytes failed"));
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kSecretBoxNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), ct, &len, U(plaintext), static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kSecretBoxTagSize, tag) != 1) {
    return Err(Status::Internal("AES-256-GCM seal failed"));
  }
  return out;
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kSecretBoxOverhead || static_cast<uint8_t>(sealed[0]) != kSecretBoxV1) {
    return Err(Status::Corruption("sealed secret: bad length or version"));
  }
  const unsigned char* nonce = U(sealed) + 1;
  const unsigned char* ct = nonce + kSecretBoxNonceSize;
  std::size_t ct_len = sealed.size() - kSecretBoxOverhead;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; copy the tag.
  unsigned char tag[kSecretBoxTagSize];
  std::copy(ct + ct_len, ct + ct_len + kSecretBoxTagSize, tag);
  std::string out(ct_len, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kSecretBoxNonceSize, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1) &&
            (ct_len == 0 || EVP_DecryptUpdate(ctx.get(), o, &len, ct, static_cast<int>(ct_len)) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kSecretBoxTagSize, tag) == 1;
  // The tag is checked by DecryptFinal (in constant time inside OpenSSL).
  unsigned char final_block[16];
  if (!ok || EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Err(Status::Corruption("sealed secret: authentication failed"));
  }
  return out;
}

}  // namespace mamute::auth
