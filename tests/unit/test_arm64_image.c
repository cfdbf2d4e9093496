/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Image header and gzip (arch/arm64/image.c). Headers are built
 * byte by byte from the layout in Linux's Documentation/arch/arm64/
 * booting.rst; gzip files are made with zlib's deflate here and then
 * truncated, corrupted or inflated past a limit. Runs on every host.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "arch/arm64/arm64.h"

static char err[256];

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* An Image of `size` bytes (>= 64) with the given header fields. */
static uint8_t *image(size_t size, uint64_t text_offset, uint64_t image_size,
		      uint64_t flags)
{
	uint8_t *d = calloc(1, size);

	cr_assert_not_null(d);
	put_le(d, 0x91005a4d, 4);     /* code0: "MZ" + add (EFI stub) */
	put_le(d + 4, 0x14000000, 4); /* code1: b */
	put_le(d + 8, text_offset, 8);
	put_le(d + 16, image_size, 8);
	put_le(d + 24, flags, 8);
	put_le(d + 56, 0x644d5241, 4); /* "ARM\x64" */
	put_le(d + 60, 0x40, 4);       /* res5: PE header offset */
	return d;
}

Test(arm64_image, valid_header)
{
	struct arm64_image_info info;
	/* 4K pages (bits 1-2 = 1), anywhere (bit 3) */
	uint8_t *d = image(4096, 0, 0x2000000, 1 << 1 | 1 << 3);

	cr_expect(arm64_image_is_image(d, 4096));
	cr_assert_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(info.text_offset, 0);
	cr_expect_eq(info.image_size, 0x2000000);
	cr_expect(info.anywhere);
	cr_expect_eq(info.page_size, 4096);

	/* 64K pages, placed low, the old 0x80000 offset */
	put_le(d + 8, 0x80000, 8);
	put_le(d + 24, 3 << 1, 8);
	cr_assert_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(info.text_offset, 0x80000);
	cr_expect(!info.anywhere);
	cr_expect_eq(info.page_size, 65536);

	/* 16K, then unspecified */
	put_le(d + 24, 2 << 1, 8);
	cr_assert_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)), 0);
	cr_expect_eq(info.page_size, 16384);
	put_le(d + 24, 0, 8);
	cr_assert_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)), 0);
	cr_expect_eq(info.page_size, 0);
	free(d);
}

Test(arm64_image, image_size_covers_the_file)
{
	struct arm64_image_info info;
	uint8_t *d = image(8192, 0, 4096, 0);

	/* a header that claims less than the file: the file wins */
	cr_assert_eq(arm64_image_parse(d, 8192, &info, err, sizeof(err)), 0);
	cr_expect_eq(info.image_size, 8192);
	free(d);
}

Test(arm64_image, bad_magic)
{
	struct arm64_image_info info;
	uint8_t *d = image(4096, 0, 0x100000, 0);

	d[59] = 0x65;
	cr_expect(!arm64_image_is_image(d, 4096));
	cr_expect_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "not an arm64 Image"), "%s", err);
	cr_expect(strstr(err, "magic"), "%s", err);
	free(d);
}

Test(arm64_image, big_endian)
{
	struct arm64_image_info info;
	uint8_t *d = image(4096, 0, 0x100000, 1);

	cr_expect(arm64_image_is_image(d, 4096));
	cr_expect_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "big-endian"), "%s", err);
	free(d);
}

Test(arm64_image, legacy_image_size_zero)
{
	struct arm64_image_info info;
	/* pre-3.17: image_size 0, the other fields unspecified */
	uint8_t *d = image(100000, 0x12345, 0, 0xff);

	cr_assert_eq(arm64_image_parse(d, 100000, &info, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(info.text_offset, 0x80000);
	cr_expect_eq(info.image_size, 100000);
	cr_expect(!info.anywhere);
	cr_expect_eq(info.page_size, 0);
	free(d);
}

Test(arm64_image, bad_fields)
{
	struct arm64_image_info info;
	uint8_t *d = image(4096, 0x200000, 0x100000, 0);

	cr_expect_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "text_offset"), "%s", err);
	put_le(d + 8, 0x80010, 8); /* not page aligned */
	cr_expect_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "text_offset"), "%s", err);
	put_le(d + 8, 0, 8);
	put_le(d + 16, 1ull << 40, 8);
	cr_expect_eq(arm64_image_parse(d, 4096, &info, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "image_size"), "%s", err);
	free(d);
}

Test(arm64_image, truncated)
{
	struct arm64_image_info info;
	uint8_t *d = image(64, 0, 0x100000, 0);

	cr_expect(arm64_image_is_image(d, 64));
	cr_expect_eq(arm64_image_parse(d, 64, &info, err, sizeof(err)), 0);
	for (size_t n = 0; n < 64; n++) {
		cr_expect(!arm64_image_is_image(d, n), "%zu bytes", n);
		cr_expect_eq(arm64_image_parse(d, n, &info, err, sizeof(err)),
			     -EINVAL, "%zu bytes", n);
	}
	cr_expect(strstr(err, "63 bytes"), "%s", err);
	free(d);
}

/* ---- gzip ---- */

/* data compressed into a gzip file (zlib's deflate with the gzip
 * wrapper); *gz_size its size */
static uint8_t *gzip(const uint8_t *data, size_t size, size_t *gz_size)
{
	z_stream zs;
	size_t cap = size + size / 100 + 1024;
	uint8_t *out = malloc(cap);

	cr_assert_not_null(out);
	memset(&zs, 0, sizeof(zs));
	cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
				  Z_DEFAULT_STRATEGY),
		     Z_OK);
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)size;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*gz_size = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/* A kernel-like payload: an Image header, then text that compresses
 * somewhat but not trivially. */
static uint8_t *payload(size_t size)
{
	uint8_t *d = image(size, 0, size + 65536, 1 << 1);
	uint32_t x = 12345;

	for (size_t i = 64; i < size; i++) {
		x = x * 1103515245 + 12345;
		d[i] = (x >> 16) % 7 ? (uint8_t)(i / 64) : (uint8_t)(x >> 24);
	}
	return d;
}

Test(arm64_image, gunzip_round_trip)
{
	const size_t size = 3 * 1024 * 1024 + 17;
	uint8_t *d = payload(size), *gz, *out = NULL;
	size_t gz_size, out_size = 0;
	struct arm64_image_info info;

	gz = gzip(d, size, &gz_size);
	cr_expect(arm64_is_gzip(gz, gz_size));
	cr_expect(!arm64_is_gzip(d, size));
	cr_expect(!arm64_image_is_image(gz, gz_size));
	cr_assert_eq(arm64_gunzip(gz, gz_size, 64 << 20, &out, &out_size, err,
				  sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(out_size, size);
	cr_expect_eq(memcmp(out, d, size), 0);
	cr_expect_eq(arm64_image_parse(out, out_size, &info, err, sizeof(err)),
		     0);
	free(out);

	/* exactly the limit is fine */
	out = NULL;
	cr_assert_eq(arm64_gunzip(gz, gz_size, size, &out, &out_size, err,
				  sizeof(err)),
		     0, "%s", err);
	cr_expect_eq(out_size, size);
	cr_expect_eq(memcmp(out, d, size), 0);
	free(out);
	free(gz);
	free(d);
}

Test(arm64_image, gunzip_empty_and_tiny)
{
	uint8_t *gz, *out = NULL;
	size_t gz_size, out_size = 1;
	const uint8_t one = 'x';

	gz = gzip(&one, 0, &gz_size);
	cr_assert_eq(
		arm64_gunzip(gz, gz_size, 0, &out, &out_size, err, sizeof(err)),
		0, "%s", err);
	cr_expect_eq(out_size, 0);
	cr_expect_not_null(out);
	free(out);
	free(gz);

	gz = gzip(&one, 1, &gz_size);
	cr_expect_eq(
		arm64_gunzip(gz, gz_size, 0, &out, &out_size, err, sizeof(err)),
		-EFBIG);
	cr_assert_eq(
		arm64_gunzip(gz, gz_size, 1, &out, &out_size, err, sizeof(err)),
		0, "%s", err);
	cr_expect_eq(out_size, 1);
	cr_expect_eq(out[0], 'x');
	free(out);
	free(gz);
}

Test(arm64_image, gunzip_over_limit)
{
	const size_t size = 1024 * 1024;
	uint8_t *d = payload(size), *gz, *out = NULL;
	size_t gz_size, out_size = 0;

	gz = gzip(d, size, &gz_size);
	cr_expect_eq(arm64_gunzip(gz, gz_size, size - 1, &out, &out_size, err,
				  sizeof(err)),
		     -EFBIG);
	cr_expect_null(out);
	cr_expect(strstr(err, "exceeds"), "%s", err);
	cr_expect_eq(arm64_gunzip(gz, gz_size, 4096, &out, &out_size, err,
				  sizeof(err)),
		     -EFBIG);
	free(gz);
	free(d);
}

Test(arm64_image, gunzip_truncated)
{
	const size_t size = 256 * 1024;
	uint8_t *d = payload(size), *gz, *out = NULL;
	size_t gz_size, out_size = 0, cuts[5];

	gz = gzip(d, size, &gz_size);
	/* in the header, the data, and the 8-byte CRC + size trailer */
	cuts[0] = 2;
	cuts[1] = 10;
	cuts[2] = gz_size / 2;
	cuts[3] = gz_size - 5;
	cuts[4] = gz_size - 1;
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		cr_expect_eq(arm64_gunzip(gz, cuts[i], 64 << 20, &out,
					  &out_size, err, sizeof(err)),
			     -EINVAL, "cut at %zu", cuts[i]);
		cr_expect(strstr(err, "truncated"), "cut at %zu: %s", cuts[i],
			  err);
		cr_expect_null(out);
	}
	free(gz);
	free(d);
}

Test(arm64_image, gunzip_corrupt)
{
	const size_t size = 256 * 1024;
	uint8_t *d = payload(size), *gz, *out = NULL;
	size_t gz_size, out_size = 0;

	gz = gzip(d, size, &gz_size);

	/* a flipped bit in the CRC-32 of the trailer */
	gz[gz_size - 8] ^= 1;
	cr_expect_eq(arm64_gunzip(gz, gz_size, 64 << 20, &out, &out_size, err,
				  sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "corrupt"), "%s", err);
	cr_expect(strstr(err, "check"), "%s", err); /* zlib: data check */
	gz[gz_size - 8] ^= 1;

	/* an unknown compression method in the header */
	gz[2] = 7;
	cr_expect_eq(arm64_gunzip(gz, gz_size, 64 << 20, &out, &out_size, err,
				  sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "corrupt"), "%s", err);
	gz[2] = 8;

	/* garbage in the deflate data */
	memset(gz + 20, 0xff, 64);
	cr_expect_eq(arm64_gunzip(gz, gz_size, 64 << 20, &out, &out_size, err,
				  sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "corrupt"), "%s", err);
	cr_expect_null(out);

	/* not gzip at all */
	cr_expect_eq(arm64_gunzip(d, size, 64 << 20, &out, &out_size, err,
				  sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "magic"), "%s", err);
	cr_expect(!arm64_is_gzip(gz, 1));
	free(gz);
	free(d);
}
