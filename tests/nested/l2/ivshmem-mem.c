/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-mem: read or write an ivshmem device's shared memory from Linux
 * through sysfs, the way an application uses QEMU's ivshmem-plain: mmap()
 * of /sys/bus/pci/devices/DEV/resource2 (sysfs resource files support
 * mmap only, not read/write). Built static by tests/nested/l2/
 * ivshmem-mkinitrd for the L2 initramfs of tests/nested/x86_64-ivshmem.sh.
 *
 *   ivshmem-mem RESOURCE read OFFSET LEN   print the bytes up to the first NUL
 *   ivshmem-mem RESOURCE write OFFSET TEXT copy TEXT and a NUL there
 *   ivshmem-mem RESOURCE size              the mapping's size in bytes
 *   ivshmem-mem RESOURCE read32 OFFSET     a 32-bit register (BAR0), in hex
 *   ivshmem-mem RESOURCE write32 OFFSET V  store the 32-bit value V there
 *
 * The mapping starts at the page that holds the BAR: where the kernel put
 * a small BAR (BAR0: 256 bytes) inside a page, add its offset in the page
 * (the BAR's start address modulo 4096, from sysfs `resource`) to OFFSET.
 * Also used by tests/nested/arm64-pci.sh (cross-built for arm64).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	unsigned char *m;
	size_t off, len;
	int fd;

	if (argc < 3) {
		fprintf(stderr,
			"usage: ivshmem-mem RESOURCE read|write|size ...\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 1;
	}
	if (!strcmp(argv[2], "size")) {
		printf("%lld\n", (long long)st.st_size);
		return 0;
	}
	if (!strcmp(argv[2], "read32") || !strcmp(argv[2], "write32")) {
		size_t pg = (size_t)sysconf(_SC_PAGESIZE);
		size_t maplen = ((size_t)st.st_size + pg - 1) / pg * pg;
		volatile uint32_t *r;

		if (argc < 4)
			return 2;
		off = strtoul(argv[3], NULL, 0);
		if (off % 4 || off + 4 > maplen)
			return 1;
		m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		r = (volatile uint32_t *)(m + off);
		if (argv[2][0] == 'r')
			printf("0x%08x\n", (unsigned)*r);
		else if (argc == 5)
			*r = (uint32_t)strtoul(argv[4], NULL, 0);
		else
			return 2;
		return 0;
	}
	if (argc != 5)
		return 2;
	m = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	off = strtoul(argv[3], NULL, 0);
	if (!strcmp(argv[2], "read")) {
		len = strtoul(argv[4], NULL, 0);
		if (off + len > (size_t)st.st_size)
			return 1;
		for (size_t i = 0; i < len && m[off + i]; i++)
			putchar(m[off + i] >= 32 && m[off + i] < 127
					? m[off + i]
					: '.');
		putchar('\n');
	} else if (!strcmp(argv[2], "write")) {
		len = strlen(argv[4]) + 1;
		if (off + len > (size_t)st.st_size)
			return 1;
		memcpy(m + off, argv[4], len);
		msync(m, st.st_size, MS_SYNC);
	} else {
		return 2;
	}
	return 0;
}
