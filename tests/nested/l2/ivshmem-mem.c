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
 */
#include <fcntl.h>
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
