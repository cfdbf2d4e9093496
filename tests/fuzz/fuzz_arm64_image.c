/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Image header and gzip reader (arch/arm64/image.c, compiled in
 * on every host). Input: one selector byte, then the kernel file.
 *
 *   selector 0-127     max_out = the selector (tiny limits, exact edges)
 *   selector 128-254   max_out = 1 << ((selector - 128) % 25)
 *   selector 255       max_out = 16 MiB
 *
 * A file with the gzip magic goes through arm64_gunzip() first and its
 * output, if any, through arm64_image_parse(); anything else is parsed as
 * is. Checked beyond memory safety (arch/arm64/arm64.h): the output fits
 * max_out, errors come with a message, -EFBIG only from an over-limit
 * stream; a parsed header has the magic, a text_offset below 2 MiB and
 * 4 KiB aligned (or the pre-3.17 0x80000), image_size >= the file, a page
 * size of 0/4K/16K/64K.
 */
#include "arch/arm64/arm64.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static size_t max_out_of(uint8_t sel)
{
	if (sel < 128)
		return sel;
	if (sel < 255)
		return (size_t)1 << ((sel - 128) % 25);
	return 16 * MiB;
}

static void parse(const uint8_t *data, size_t size)
{
	struct arm64_image_info info;
	char err[256] = "";
	int ret;

	ret = arm64_image_parse(data, size, &info, err, sizeof(err));
	fuzz_log("parse %zu bytes: %d %s\n", size, ret, err);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "parse returned %d", ret);
		FUZZ_CHECK(err[0], "parse failed without a message");
		FUZZ_CHECK(arm64_image_is_image(data, size) ||
				   !strncmp(err, "not an arm64 Image", 18),
			   "not an Image, but: %s", err);
		return;
	}
	FUZZ_CHECK(arm64_image_is_image(data, size), "parsed a non-Image");
	FUZZ_CHECK((info.text_offset < 2 * MiB && !(info.text_offset % 4096)) ||
			   info.text_offset == 0x80000,
		   "text_offset %#llx", (unsigned long long)info.text_offset);
	FUZZ_CHECK(info.image_size >= size, "image_size %llu < file %zu",
		   (unsigned long long)info.image_size, size);
	FUZZ_CHECK(info.page_size == 0 || info.page_size == 4096 ||
			   info.page_size == 16384 || info.page_size == 65536,
		   "page size %u", info.page_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max_out, out_size = 0;
	uint8_t *out = NULL;
	char err[256] = "";
	int ret;

	if (!size)
		return 0;
	max_out = max_out_of(data[0]);
	data++;
	size--;

	if (!arm64_is_gzip(data, size)) {
		parse(data, size);
		return 0;
	}
	ret = arm64_gunzip(data, size, max_out, &out, &out_size, err,
			   sizeof(err));
	fuzz_log("gunzip %zu bytes, max %zu: %d %s (%zu out)\n", size, max_out,
		 ret, err, out_size);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -EFBIG || ret == -ENOMEM,
			   "gunzip returned %d", ret);
		FUZZ_CHECK(!strncmp(err, "gzip: ", 6), "message '%s'", err);
		FUZZ_CHECK(!out, "output set on failure");
		return 0;
	}
	FUZZ_CHECK(out, "no output buffer");
	FUZZ_CHECK(out_size <= max_out, "%zu bytes out, limit %zu", out_size,
		   max_out);
	parse(out, out_size);
	free(out);
	return 0;
}
