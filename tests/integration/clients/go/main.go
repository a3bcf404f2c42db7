// Scenarios of the AWS SDK for Go v2 (Debian's golang-github-aws-aws-sdk-go-v2-dev) against a
// mamute S3 endpoint, path-style, with a static credentials provider. Built and run by
// tests/integration/test_clients_go.py: one process runs every scenario and prints one JSON line
// per scenario ({"name", "ok", "error", "info"}); the test module asserts on them.
//
//	mamute-go-client -endpoint http://127.0.0.1:PORT -bucket B -ak AK -sk SK -foreign OTHER
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

const MiB = 1024 * 1024

var (
	endpoint = flag.String("endpoint", "", "S3 endpoint URL")
	bucket   = flag.String("bucket", "", "the key's bucket")
	ak       = flag.String("ak", "", "access key id")
	sk       = flag.String("sk", "", "secret access key")
	foreign  = flag.String("foreign", "", "a bucket the key may not use")
	only     = flag.String("only", "", "run only this scenario")
)

type result struct {
	Name  string            `json:"name"`
	OK    bool              `json:"ok"`
	Error string            `json:"error,omitempty"`
	Info  map[string]string `json:"info,omitempty"`
}

type scenario struct {
	name string
	run  func(ctx context.Context, c *s3.Client, info map[string]string) error
}

func quotedMD5(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func get(ctx context.Context, c *s3.Client, key string, opt ...func(*s3.GetObjectInput)) ([]byte, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: bucket, Key: aws.String(key)}
	for _, f := range opt {
		f(in)
	}
	out, err := c.GetObject(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	return body, out, err
}

var scenarios = []scenario{
	{"put_get_head", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		data := []byte("hello from aws-sdk-go-v2")
		put, err := c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: bucket, Key: aws.String("go/hello.txt"), Body: bytes.NewReader(data),
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"origin": "go"},
			CacheControl: aws.String("max-age=5"),
		})
		if err != nil {
			return err
		}
		if aws.ToString(put.ETag) != quotedMD5(data) {
			return fmt.Errorf("put ETag %s, want %s", aws.ToString(put.ETag), quotedMD5(data))
		}
		body, out, err := get(ctx, c, "go/hello.txt")
		if err != nil {
			return err
		}
		if !bytes.Equal(body, data) || aws.ToString(out.ETag) != quotedMD5(data) {
			return fmt.Errorf("get returned %q etag %s", body, aws.ToString(out.ETag))
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("go/hello.txt")})
		if err != nil {
			return err
		}
		if head.ContentLength != int64(len(data)) || aws.ToString(head.ContentType) != "text/plain" ||
			head.Metadata["origin"] != "go" || aws.ToString(head.CacheControl) != "max-age=5" ||
			head.LastModified == nil || time.Since(*head.LastModified) > time.Hour {
			return fmt.Errorf("head: len %d type %q meta %v cache %q lm %v", head.ContentLength,
				aws.ToString(head.ContentType), head.Metadata, aws.ToString(head.CacheControl), head.LastModified)
		}
		return nil
	}},
	{"range_get", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		data := []byte("0123456789abcdefghij")
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("go/range"), Body: bytes.NewReader(data)}); err != nil {
			return err
		}
		body, out, err := get(ctx, c, "go/range", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=5-9") })
		if err != nil {
			return err
		}
		if string(body) != "56789" || aws.ToString(out.ContentRange) != "bytes 5-9/20" {
			return fmt.Errorf("range: %q %q", body, aws.ToString(out.ContentRange))
		}
		return nil
	}},
	{"list_v2_paginated", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		var want []string
		for i := 0; i < 7; i++ {
			k := fmt.Sprintf("go/list/k%02d", i)
			want = append(want, k)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				return err
			}
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("go/list/sub/x"), Body: strings.NewReader("x")}); err != nil {
			return err
		}
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("go/list/"),
			Delimiter: aws.String("/"), MaxKeys: 3})
		var got, prefixes []string
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			pages++
			for _, o := range page.Contents {
				got = append(got, aws.ToString(o.Key))
				if o.Size != int64(len(aws.ToString(o.Key))) {
					return fmt.Errorf("size of %s: %d", aws.ToString(o.Key), o.Size)
				}
			}
			for _, cp := range page.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(cp.Prefix))
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || strings.Join(prefixes, ",") != "go/list/sub/" || pages < 3 {
			return fmt.Errorf("listed %v prefixes %v in %d pages", got, prefixes, pages)
		}
		info["pages"] = fmt.Sprint(pages)
		return nil
	}},
	{"list_v1", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		out, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: bucket, Prefix: aws.String("go/list/k"), MaxKeys: 4})
		if err != nil {
			return err
		}
		if len(out.Contents) != 4 || !out.IsTruncated {
			return fmt.Errorf("v1 page: %d keys truncated=%v", len(out.Contents), out.IsTruncated)
		}
		out2, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: bucket, Prefix: aws.String("go/list/k"),
			Marker: out.Contents[3].Key})
		if err != nil {
			return err
		}
		if len(out2.Contents) != 3 || out2.IsTruncated {
			return fmt.Errorf("v1 second page: %d keys truncated=%v", len(out2.Contents), out2.IsTruncated)
		}
		return nil
	}},
	{"delete_and_delete_objects", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		var ids []types.ObjectIdentifier
		for i := 0; i < 5; i++ {
			k := fmt.Sprintf("go/del/%d", i)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				return err
			}
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("go/del/0")}); err != nil {
			return err
		}
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("go/del/0")})
		// HEAD has no body, so the SDK only has the status: a 404 is the NotFound code.
		var nf *types.NotFound
		if !errors.As(err, &nf) && apiCode(err) != "NotFound" {
			return fmt.Errorf("head after delete: %v (want NotFound)", err)
		}
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{Objects: ids}})
		if err != nil {
			return err
		}
		if len(out.Deleted) != 5 || len(out.Errors) != 0 {
			return fmt.Errorf("DeleteObjects: %d deleted, %d errors", len(out.Deleted), len(out.Errors))
		}
		l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("go/del/")})
		if err != nil {
			return err
		}
		if l.KeyCount != 0 {
			return fmt.Errorf("%d keys left", l.KeyCount)
		}
		return nil
	}},
	{"copy_object", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		data := randomBytes(100000)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("go/copy-src"), Body: bytes.NewReader(data),
			Metadata: map[string]string{"a": "1"}}); err != nil {
			return err
		}
		out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("go/copy-dst"),
			CopySource: aws.String(*bucket + "/go/copy-src"), MetadataDirective: types.MetadataDirectiveReplace,
			Metadata: map[string]string{"b": "2"}})
		if err != nil {
			return err
		}
		if aws.ToString(out.CopyObjectResult.ETag) != quotedMD5(data) {
			return fmt.Errorf("copy ETag %s", aws.ToString(out.CopyObjectResult.ETag))
		}
		body, g, err := get(ctx, c, "go/copy-dst")
		if err != nil {
			return err
		}
		if !bytes.Equal(body, data) || g.Metadata["b"] != "2" || g.Metadata["a"] != "" {
			return fmt.Errorf("copy: %d bytes, metadata %v", len(body), g.Metadata)
		}
		return nil
	}},
	{"checksums", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		data := randomBytes(300000)
		for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
			types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
			key := "go/sum/" + string(alg)
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(key), Body: bytes.NewReader(data),
				ChecksumAlgorithm: alg})
			if err != nil {
				return fmt.Errorf("%s: %w", alg, err)
			}
			// GetObject with ChecksumMode ENABLED: the SDK validates the body against the
			// returned x-amz-checksum-* and fails the read on a mismatch.
			body, out, err := get(ctx, c, key, func(in *s3.GetObjectInput) { in.ChecksumMode = types.ChecksumModeEnabled })
			if err != nil {
				return fmt.Errorf("%s get: %w", alg, err)
			}
			if !bytes.Equal(body, data) {
				return fmt.Errorf("%s: body differs", alg)
			}
			var sent, got string
			switch alg {
			case types.ChecksumAlgorithmCrc32:
				sent, got = aws.ToString(put.ChecksumCRC32), aws.ToString(out.ChecksumCRC32)
				want := make([]byte, 4)
				v := crc32.ChecksumIEEE(data)
				want[0], want[1], want[2], want[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
				if got != base64.StdEncoding.EncodeToString(want) {
					return fmt.Errorf("CRC32 returned %q", got)
				}
			case types.ChecksumAlgorithmCrc32c:
				sent, got = aws.ToString(put.ChecksumCRC32C), aws.ToString(out.ChecksumCRC32C)
			case types.ChecksumAlgorithmSha1:
				sent, got = aws.ToString(put.ChecksumSHA1), aws.ToString(out.ChecksumSHA1)
			case types.ChecksumAlgorithmSha256:
				sent, got = aws.ToString(put.ChecksumSHA256), aws.ToString(out.ChecksumSHA256)
			}
			if sent == "" || sent != got {
				return fmt.Errorf("%s: PUT answered %q, GET returned %q", alg, sent, got)
			}
			info[string(alg)] = got
		}
		return nil
	}},
	{"multipart_manager", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		data := randomBytes(11*MiB + 12345)
		up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 * MiB; u.Concurrency = 2 })
		// An unseekable reader makes the uploader buffer parts (the streaming case).
		res, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("go/mpu"),
			Body: io.LimitReader(bytes.NewReader(data), int64(len(data))), ContentType: aws.String("application/x-go")})
		if err != nil {
			return err
		}
		var md5s []byte
		for off := 0; off < len(data); off += 5 * MiB {
			end := off + 5*MiB
			if end > len(data) {
				end = len(data)
			}
			s := md5.Sum(data[off:end])
			md5s = append(md5s, s[:]...)
		}
		sum := md5.Sum(md5s)
		want := fmt.Sprintf(`"%s-3"`, hex.EncodeToString(sum[:]))
		if aws.ToString(res.ETag) != want {
			return fmt.Errorf("multipart ETag %s, want %s", aws.ToString(res.ETag), want)
		}
		// The downloader fetches ranges concurrently.
		buf := manager.NewWriteAtBuffer(nil)
		dl := manager.NewDownloader(c, func(d *manager.Downloader) { d.PartSize = 4 * MiB; d.Concurrency = 2 })
		n, err := dl.Download(ctx, buf, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("go/mpu")})
		if err != nil {
			return err
		}
		if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
			return fmt.Errorf("downloaded %d bytes, content differs", n)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("go/mpu"), PartNumber: 2})
		if err != nil {
			return err
		}
		if head.PartsCount != 3 || head.ContentLength != 5*MiB {
			return fmt.Errorf("head partNumber=2: parts %d len %d", head.PartsCount, head.ContentLength)
		}
		info["etag"] = aws.ToString(res.ETag)
		return nil
	}},
	{"multipart_abort_and_list", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String("go/aborted")})
		if err != nil {
			return err
		}
		if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: aws.String("go/aborted"), UploadId: cr.UploadId,
			PartNumber: 1, Body: bytes.NewReader([]byte("part one"))}); err != nil {
			return err
		}
		lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bucket, Prefix: aws.String("go/aborted")})
		if err != nil {
			return err
		}
		if len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(cr.UploadId) {
			return fmt.Errorf("ListMultipartUploads: %d uploads", len(lu.Uploads))
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: aws.String("go/aborted"), UploadId: cr.UploadId})
		if err != nil {
			return err
		}
		if len(lp.Parts) != 1 || lp.Parts[0].Size != 8 {
			return fmt.Errorf("ListParts: %d parts", len(lp.Parts))
		}
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: aws.String("go/aborted"),
			UploadId: cr.UploadId}); err != nil {
			return err
		}
		_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: aws.String("go/aborted"), UploadId: cr.UploadId})
		var nu *types.NoSuchUpload
		if !errors.As(err, &nu) && apiCode(err) != "NoSuchUpload" {
			return fmt.Errorf("ListParts after abort: %v", err)
		}
		return nil
	}},
	{"presigned_get_put", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		pc := s3.NewPresignClient(c, s3.WithPresignExpires(5*time.Minute))
		put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("go/presigned")})
		if err != nil {
			return err
		}
		req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("through a presigned PUT"))
		for k, v := range put.SignedHeader {
			if !strings.EqualFold(k, "host") {
				req.Header[k] = v
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("presigned PUT: %d", resp.StatusCode)
		}
		g, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("go/presigned")})
		if err != nil {
			return err
		}
		resp, err = http.Get(g.URL)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "through a presigned PUT" {
			return fmt.Errorf("presigned GET: %d %q", resp.StatusCode, body)
		}
		return nil
	}},
	{"bucket_probes", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: bucket}); err != nil {
			return err
		}
		loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: bucket})
		if err != nil {
			return err
		}
		if loc.LocationConstraint != "" {
			return fmt.Errorf("location %q", loc.LocationConstraint)
		}
		lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			return err
		}
		if len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != *bucket {
			return fmt.Errorf("ListBuckets: %d buckets", len(lb.Buckets))
		}
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
		var owned *types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("CreateBucket on the own bucket: %v", err)
		}
		return nil
	}},
	{"errors", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		_, _, err := get(ctx, c, "go/does-not-exist")
		var nsk *types.NoSuchKey
		if !errors.As(err, &nsk) {
			return fmt.Errorf("missing key: %v", err)
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: foreign, Key: aws.String("x"), Body: strings.NewReader("x")})
		if apiCode(err) != "AccessDenied" {
			return fmt.Errorf("foreign bucket PUT: %v", err)
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("go/stolen"),
			CopySource: aws.String(*foreign + "/secret")})
		if apiCode(err) != "AccessDenied" {
			return fmt.Errorf("foreign copy source: %v", err)
		}
		_, _, err = get(ctx, c, "go/range", func(in *s3.GetObjectInput) { in.Range = aws.String("bytes=100-200") })
		if apiCode(err) != "InvalidRange" {
			return fmt.Errorf("unsatisfiable range: %v", err)
		}
		return nil
	}},
	{"listing_is_sorted_after_all", func(ctx context.Context, c *s3.Client, info map[string]string) error {
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String("go/")})
		var keys []string
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
		if !sort.StringsAreSorted(keys) || len(keys) == 0 {
			return fmt.Errorf("keys not sorted: %v", keys)
		}
		info["keys"] = fmt.Sprint(len(keys))
		return nil
	}},
}

func main() {
	flag.Parse()
	client := s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(*ak, *sk, ""),
		EndpointResolver: s3.EndpointResolverFromURL(*endpoint),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
	})
	enc := json.NewEncoder(os.Stdout)
	failed := 0
	for _, s := range scenarios {
		if *only != "" && s.name != *only {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		info := map[string]string{}
		err := s.run(ctx, client, info)
		cancel()
		r := result{Name: s.name, OK: err == nil, Info: info}
		if err != nil {
			r.Error = err.Error()
			failed++
		}
		if e := enc.Encode(r); e != nil {
			panic(e)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
