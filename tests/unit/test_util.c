/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>

#include "vmm/util.h"

Test(util, parse_u64)
{
	uint64_t v;

	cr_assert_eq(parse_u64("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(parse_u64("1234", &v), 0);
	cr_assert_eq(v, 1234);
	cr_assert_eq(parse_u64("0x3F8", &v), 0);
	cr_assert_eq(v, 0x3f8);
	cr_assert_eq(parse_u64("010", &v), 0);
	cr_assert_eq(v, 10, "a leading zero is not octal");
	cr_assert_eq(parse_u64("0x1_0000", &v), 0);
	cr_assert_eq(v, 0x10000);
	cr_assert_eq(parse_u64("0xffffffffffffffff", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(parse_u64("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(parse_u64("0x10000000000000000", &v), -ERANGE);
	cr_assert_eq(parse_u64("", &v), -EINVAL);
	cr_assert_eq(parse_u64("0x", &v), -EINVAL);
	cr_assert_eq(parse_u64("12a", &v), -EINVAL);
	cr_assert_eq(parse_u64("-1", &v), -EINVAL);
	cr_assert_eq(parse_u64(" 1", &v), -EINVAL);
	cr_assert_eq(parse_u64("_1", &v), -EINVAL);
}

Test(util, parse_size)
{
	uint64_t v;

	cr_assert_eq(parse_size("4096", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(parse_size("64M", &v), 0);
	cr_assert_eq(v, 64ULL << 20);
	cr_assert_eq(parse_size("64MiB", &v), 0);
	cr_assert_eq(v, 64ULL << 20);
	cr_assert_eq(parse_size("2g", &v), 0);
	cr_assert_eq(v, 2ULL << 30);
	cr_assert_eq(parse_size("4k", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(parse_size("0x1000", &v), 0);
	cr_assert_eq(v, 0x1000);
	cr_assert_eq(parse_size("0x10M", &v), 0);
	cr_assert_eq(v, 16ULL << 20);
	cr_assert_eq(parse_size("0xB", &v), 0, "hex digit b is not a suffix");
	cr_assert_eq(v, 11);
	cr_assert_eq(parse_size("16777216T", &v), -ERANGE);
	cr_assert_eq(parse_size("12X", &v), -EINVAL);
	cr_assert_eq(parse_size("M", &v), -EINVAL);
	cr_assert_eq(parse_size("1 M", &v), -EINVAL);
}

Test(util, parse_bool_duration)
{
	bool b;
	uint64_t ms;

	cr_assert_eq(parse_bool("Yes", &b), 0);
	cr_assert(b);
	cr_assert_eq(parse_bool("off", &b), 0);
	cr_assert_not(b);
	cr_assert_eq(parse_bool("maybe", &b), -EINVAL);
	cr_assert_eq(parse_duration_ms("10", &ms), 0);
	cr_assert_eq(ms, 10000);
	cr_assert_eq(parse_duration_ms("250ms", &ms), 0);
	cr_assert_eq(ms, 250);
	cr_assert_eq(parse_duration_ms("2m", &ms), 0);
	cr_assert_eq(ms, 120000);
	cr_assert_eq(parse_duration_ms("1h", &ms), -EINVAL);
	cr_assert_eq(parse_duration_ms("", &ms), -EINVAL);
}

Test(util, ranges)
{
	uint64_t s;

	cr_assert(ranges_overlap(0, 10, 9, 1));
	cr_assert_not(ranges_overlap(0, 10, 10, 1));
	cr_assert_not(ranges_overlap(0, 0, 0, 10));
	cr_assert(ranges_overlap(UINT64_MAX, 1, 1, UINT64_MAX));
	cr_assert_not(ranges_overlap(UINT64_MAX, 1, 0, UINT64_MAX));
	cr_assert(ranges_overlap(UINT64_MAX - 1, 2, UINT64_MAX, 1));
	cr_assert_eq(add_overflows(UINT64_MAX, 1, &s), -ERANGE);
	cr_assert_eq(add_overflows(1, 2, &s), 0);
	cr_assert_eq(s, 3);
}
