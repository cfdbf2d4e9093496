/* SPDX-License-Identifier: MIT */
/*
 * The Linux arm64 Image (Documentation/arch/arm64/booting.rst) and the gzip
 * files (RFC 1952) distributions ship it in.
 *
 * The 64-byte header, all fields little-endian:
 *
 *   0  code0, code1      executable code (a branch to the kernel's start)
 *   8  text_offset       load offset from a 2 MiB aligned base
 *   16 image_size        bytes from the load address the kernel uses
 *   24 flags             bit 0 big-endian kernel, bits 1-2 page size
 *                        (0 unspecified, 1 4K, 2 16K, 3 64K), bit 3 the
 *                        base may be anywhere in RAM (else as low as can be)
 *   32 res2, res3, res4
 *   56 magic             "ARM\x64"
 *   60 res5              PE/COFF header offset (EFI stub)
 *
 * Before Linux 3.17 image_size is 0 and text_offset (0x80000) and flags
 * were not specified; then the kernel needs the file's size plus its BSS,
 * which the header does not say: the caller uses the file size and leaves
 * room after it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "arch/arm64/arm64.h"
#include "vmm/util.h"

#define IMAGE_HDR_SIZE	      64u
#define IMAGE_OFF_TEXT_OFFSET 8u
#define IMAGE_OFF_IMAGE_SIZE  16u
#define IMAGE_OFF_FLAGS	      24u
#define IMAGE_OFF_MAGIC	      56u

#define IMAGE_FLAG_BE	      (1ull << 0)
#define IMAGE_FLAG_PAGE_SHIFT 1
#define IMAGE_FLAG_PAGE_MASK  (3ull << IMAGE_FLAG_PAGE_SHIFT)
#define IMAGE_FLAG_ANYWHERE   (1ull << 3)

#define IMAGE_LEGACY_TEXT_OFFSET 0x80000ull
/* text_offset is below the 2 MiB alignment of the base; a kernel needs
 * far less than this (sanity bound, not an architectural one) */
#define IMAGE_MAX_TEXT_OFFSET (2 * MiB)
#define IMAGE_MAX_SIZE	      (4 * GiB)

#define GZIP_ID1 0x1f
#define GZIP_ID2 0x8b

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

bool arm64_image_is_image(const uint8_t *data, size_t size)
{
	return size >= IMAGE_HDR_SIZE &&
	       get_le32(data + IMAGE_OFF_MAGIC) == ARM64_IMAGE_MAGIC;
}

int arm64_image_parse(const uint8_t *data, size_t size,
		      struct arm64_image_info *info, char *err, size_t errlen)
{
	static const unsigned page_sizes[4] = { 0, 4096, 16384, 65536 };
	uint64_t text_offset, image_size, flags;

	if (size < IMAGE_HDR_SIZE) {
		snprintf(err, errlen,
			 "not an arm64 Image: %zu bytes, shorter than the "
			 "%u-byte header",
			 size, IMAGE_HDR_SIZE);
		return -EINVAL;
	}
	if (!arm64_image_is_image(data, size)) {
		snprintf(err, errlen,
			 "not an arm64 Image: no \"ARM\\x64\" magic at offset "
			 "%u (found 0x%08x)",
			 IMAGE_OFF_MAGIC, get_le32(data + IMAGE_OFF_MAGIC));
		return -EINVAL;
	}
	text_offset = get_le64(data + IMAGE_OFF_TEXT_OFFSET);
	image_size = get_le64(data + IMAGE_OFF_IMAGE_SIZE);
	flags = get_le64(data + IMAGE_OFF_FLAGS);

	memset(info, 0, sizeof(*info));
	if (!image_size) {
		/* before 3.17: fixed offset, little-endian implied by the
		 * magic having been read as such */
		info->text_offset = IMAGE_LEGACY_TEXT_OFFSET;
		info->image_size = size;
		return 0;
	}
	if (flags & IMAGE_FLAG_BE) {
		snprintf(err, errlen,
			 "big-endian kernel (Image flags bit 0): only "
			 "little-endian guests are supported");
		return -EINVAL;
	}
	if (text_offset >= IMAGE_MAX_TEXT_OFFSET || text_offset % 4096) {
		snprintf(err, errlen,
			 "arm64 Image: bad text_offset 0x%llx (must be 4 KiB "
			 "aligned, below 2 MiB)",
			 (unsigned long long)text_offset);
		return -EINVAL;
	}
	if (image_size > IMAGE_MAX_SIZE) {
		snprintf(err, errlen,
			 "arm64 Image: bad image_size 0x%llx (over 4 GiB)",
			 (unsigned long long)image_size);
		return -EINVAL;
	}
	info->text_offset = text_offset;
	/* the whole file is loaded, whatever the header says */
	info->image_size = MAX(image_size, (uint64_t)size);
	info->anywhere = flags & IMAGE_FLAG_ANYWHERE;
	info->page_size = page_sizes[(flags & IMAGE_FLAG_PAGE_MASK) >>
				     IMAGE_FLAG_PAGE_SHIFT];
	return 0;
}

bool arm64_is_gzip(const uint8_t *data, size_t size)
{
	return size >= 2 && data[0] == GZIP_ID1 && data[1] == GZIP_ID2;
}

static int gunzip_fail(z_stream *zs, uint8_t *buf, int ret, char *err,
		       size_t errlen, const char *what)
{
	inflateEnd(zs);
	free(buf);
	snprintf(err, errlen, "gzip: %s", what);
	return ret;
}

int arm64_gunzip(const uint8_t *data, size_t size, size_t max_out,
		 uint8_t **out, size_t *out_size, char *err, size_t errlen)
{
	z_stream zs;
	uint8_t *buf, spare;
	size_t cap, done = 0, in_left = size;
	char msg[160];
	int zret;

	if (!arm64_is_gzip(data, size)) {
		snprintf(err, errlen, "gzip: no gzip magic (1f 8b)");
		return -EINVAL;
	}
	/* first guess: a kernel compresses about 1:3 */
	cap = MIN(max_out, MAX((size_t)64 * KiB, size * 4));
	buf = malloc(cap ? cap : 1);
	if (!buf) {
		snprintf(err, errlen, "gzip: out of memory");
		return -ENOMEM;
	}
	memset(&zs, 0, sizeof(zs));
	zret = inflateInit2(&zs, 16 + MAX_WBITS); /* the gzip wrapper only */
	if (zret != Z_OK) {
		free(buf);
		snprintf(err, errlen, "gzip: zlib: %s", zError(zret));
		return zret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}

	zs.next_in = (Bytef *)data;
	for (;;) {
		bool probe = false;
		uInt avail;

		if (!zs.avail_in && in_left) {
			zs.avail_in = (uInt)MIN(in_left, (size_t)UINT_MAX);
			in_left -= zs.avail_in;
		}
		if (done == cap && cap < max_out) {
			size_t ncap = cap > max_out / 2 ? max_out : cap * 2;
			uint8_t *nb = realloc(buf, ncap);

			if (!nb)
				return gunzip_fail(&zs, buf, -ENOMEM, err,
						   errlen, "out of memory");
			buf = nb;
			cap = ncap;
		}
		if (done < cap) {
			zs.next_out = buf + done;
			zs.avail_out = (uInt)MIN(cap - done, (size_t)UINT_MAX);
		} else {
			/* full at max_out: does the stream have more? */
			zs.next_out = &spare;
			zs.avail_out = 1;
			probe = true;
		}
		avail = zs.avail_out;
		zret = inflate(&zs, Z_NO_FLUSH);
		if (probe && !zs.avail_out) {
			snprintf(msg, sizeof(msg),
				 "decompressed data exceeds the limit of %zu "
				 "bytes",
				 max_out);
			return gunzip_fail(&zs, buf, -EFBIG, err, errlen, msg);
		}
		if (!probe)
			done += avail - zs.avail_out;
		if (zret == Z_STREAM_END)
			break;
		if (zret == Z_OK)
			continue;
		if (zret == Z_MEM_ERROR)
			return gunzip_fail(&zs, buf, -ENOMEM, err, errlen,
					   "out of memory");
		if (zret == Z_BUF_ERROR && !zs.avail_in && !in_left) {
			snprintf(msg, sizeof(msg),
				 "truncated data: the input (%zu bytes) ends "
				 "inside the compressed stream, after %zu "
				 "bytes of output",
				 size, done);
			return gunzip_fail(&zs, buf, -EINVAL, err, errlen, msg);
		}
		snprintf(msg, sizeof(msg), "corrupt data at input byte %zu: %s",
			 (size_t)(zs.next_in - data),
			 zs.msg ? zs.msg : zError(zret));
		return gunzip_fail(&zs, buf, -EINVAL, err, errlen, msg);
	}
	inflateEnd(&zs);
	if (done && done < cap) {
		uint8_t *nb = realloc(buf, done); /* give back the slack */

		if (nb)
			buf = nb;
	}
	*out = buf;
	*out_size = done;
	return 0;
}
