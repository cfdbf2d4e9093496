/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driver (virtio 1.2, 5.1.5 device initialization, 5.1.6 device
 * operation). See virtio_net.h.
 */
#include "cpu.h"
#include "virtio_net.h"
#include "virtio_hw.h"

#define HDR_LEN	 sizeof(struct virtio_net_hdr_v1)
#define BUF_SIZE 2048
#define RX_BUFS	 64
#define TX_BUFS	 32
/* rt_vnet_send(): pause loops to wait for a free transmit buffer */
#define TX_WAIT_SPINS 2000000u
#define MRG_MAX_BUFS  8 /* a 1514-byte frame in 2 KiB buffers needs 1 */

_Static_assert(HDR_LEN == 12, "virtio 1.x net header");
_Static_assert(BUF_SIZE >= HDR_LEN + RT_VNET_FRAME_MAX, "buffer size");

/* Not zeroed at boot (.noinit): the device writes before we read. */
static uint8_t rx_buf[RX_BUFS][BUF_SIZE]
	__attribute__((section(".noinit"), aligned(64)));
static uint8_t tx_buf[TX_BUFS][BUF_SIZE]
	__attribute__((section(".noinit"), aligned(64)));
static uint8_t *tx_stack[TX_BUFS]; /* free transmit buffers */

/* The VMM's default virtio-mmio IRQ for slots 0-7 (virtio/mmio.c). */
static const uint8_t mmio_slot_irq[] = { 5, 6, 7, 10, 11, 12, 14, 15 };

static bool parse_num(const char *s, size_t len, uint64_t *v)
{
	unsigned base = 10;
	size_t i = 0;

	*v = 0;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		char c = s[i];
		unsigned dgt;

		if (c >= '0' && c <= '9')
			dgt = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			dgt = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			dgt = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (*v > (UINT64_MAX - dgt) / base)
			return false;
		*v = *v * base + dgt;
	}
	return true;
}

/* The next ':'-separated field of s[*pos, len) */
static bool next_field(const char *s, size_t len, size_t *pos, const char **f,
		       size_t *flen)
{
	size_t i = *pos;

	if (i > len)
		return false;
	*f = s + i;
	while (i < len && s[i] != ':')
		i++;
	*flen = (size_t)(s + i - *f);
	*pos = i + 1;
	return true;
}

int rt_vnet_parse(const char *s, size_t len, struct rt_vnet_opts *o)
{
	const char *f;
	size_t flen, pos = 0;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	o->mmio_irq = -1;
	o->pci_slot = -1;
	if (len == 0 || (len == 4 && !strncmp(s, "auto", 4)))
		return 0;
	next_field(s, len, &pos, &f, &flen);
	if (flen == 4 && !strncmp(f, "mmio", 4)) {
		o->transport = RT_VNET_MMIO;
		if (!next_field(s, len, &pos, &f, &flen))
			return 0;
		if (!parse_num(f, flen, &v) || v < ABI_VIRTIO_MMIO_BASE ||
		    (v - ABI_VIRTIO_MMIO_BASE) % ABI_VIRTIO_MMIO_SLOT_SIZE ||
		    (v - ABI_VIRTIO_MMIO_BASE) / ABI_VIRTIO_MMIO_SLOT_SIZE >=
			    ABI_VIRTIO_MMIO_SLOTS)
			return -1;
		o->mmio_addr = v;
		if (!next_field(s, len, &pos, &f, &flen))
			return 0;
		if (!parse_num(f, flen, &v) || v > 15 || v == 2 || pos <= len)
			return -1;
		o->mmio_irq = (int)v;
		return 0;
	}
	if (flen == 3 && !strncmp(f, "pci", 3)) {
		o->transport = RT_VNET_PCI;
		if (!next_field(s, len, &pos, &f, &flen))
			return 0;
		if (!parse_num(f, flen, &v) || v >= PCI_SLOTS || pos <= len)
			return -1;
		o->pci_slot = (int)v;
		return 0;
	}
	return -1;
}

static int find_device(struct rt_vnet *n, const struct rt_vnet_opts *o,
		       char *why, size_t len)
{
	struct rt_virtio_dev *d = &n->dev;
	unsigned slot;

	switch (o->transport) {
	case RT_VNET_PCI:
		return rt_virtio_pci_find(d, VIRTIO_ID_NET, o->pci_slot, why,
					  len);
	case RT_VNET_AUTO:
		if (!rt_virtio_pci_find(d, VIRTIO_ID_NET, -1, why, len))
			return 0;
		if (rt_virtio_mmio_find(d, VIRTIO_ID_NET, ABI_VIRTIO_MMIO_SLOTS,
					why, len))
			return -1;
		break;
	case RT_VNET_MMIO:
		if (o->mmio_addr ? rt_virtio_mmio_probe(d, o->mmio_addr,
							VIRTIO_ID_NET, why, len)
				 : rt_virtio_mmio_find(d, VIRTIO_ID_NET,
						       ABI_VIRTIO_MMIO_SLOTS,
						       why, len))
			return -1;
		break;
	}
	/* mmio: the interrupt line */
	slot = (unsigned)((d->base - ABI_VIRTIO_MMIO_BASE) /
			  ABI_VIRTIO_MMIO_SLOT_SIZE);
	if (o->mmio_irq >= 0)
		d->irq = (unsigned)o->mmio_irq;
	else if (slot < sizeof(mmio_slot_irq))
		d->irq = mmio_slot_irq[slot];
	return 0;
}

/* Post every free receive buffer that is not on the ring. */
static void rx_post(struct rt_vnet *n, uint8_t *buf)
{
	struct rt_virtq_buf b = { buf, BUF_SIZE, true };

	/* Cannot fail: there are never more buffers than descriptors. */
	if (rt_virtq_add(&n->rx, &b, 1, buf))
		rt_printf("virtio-net: rx descriptor leak\n");
}

int rt_vnet_open(struct rt_vnet *n, const struct rt_vnet_opts *o, char *why,
		 size_t len)
{
	struct rt_virtio_dev *d = &n->dev;
	uint64_t wanted;

	memset(n, 0, sizeof(*n));
	if (find_device(n, o, why, len))
		return -1;
	if (o->poll) {
		d->irq = 0;
		d->msix = false;
	}
	wanted = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS;
	if (!o->no_mrg_rxbuf)
		wanted |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (rt_virtio_init(d, wanted, 0, why, len))
		return -1;
	if (rt_virtio_queue(d, &n->rx, VIRTIO_NET_RXQ(0), RX_BUFS, why, len) ||
	    rt_virtio_queue(d, &n->tx, VIRTIO_NET_TXQ(0), TX_BUFS, why, len))
		return -1;

	if (rt_virtio_has(d, VIRTIO_NET_F_MAC) &&
	    !rt_virtio_config(d, VIRTIO_NET_CONFIG_MAC, n->mac, 6)) {
		n->mac_from_device = true;
	} else {
		/* Locally administered, unicast */
		static const uint8_t fallback[6] = { 0x02, 0, 0, 0, 0, 0x01 };

		memcpy(n->mac, fallback, 6);
	}

	n->rx_bufs = n->rx.size;
	for (unsigned i = 0; i < n->rx_bufs; i++)
		rx_post(n, rx_buf[i]);
	n->tx_bufs = n->tx.size < TX_BUFS ? n->tx.size : TX_BUFS;
	for (unsigned i = 0; i < n->tx_bufs; i++)
		tx_stack[i] = tx_buf[i];
	n->tx_free = n->tx_bufs;

	if (rt_virtio_ready(d, why, len))
		return -1;
	rt_vnet_link_up(n);
	rt_virtq_kick(d, &n->rx);
	return 0;
}

bool rt_vnet_link_up(struct rt_vnet *n)
{
	uint16_t s;

	if (!rt_virtio_has(&n->dev, VIRTIO_NET_F_STATUS))
		return true;
	if (rt_virtio_config(&n->dev, VIRTIO_NET_CONFIG_STATUS, &s, 2))
		return true;
	n->link = s;
	return (s & VIRTIO_NET_S_LINK_UP) != 0;
}

int rt_vnet_recv(struct rt_vnet *n, void *buf, size_t size)
{
	struct virtio_net_hdr_v1 hdr;
	uint8_t *b, *more[MRG_MAX_BUFS];
	uint32_t used, got = 0;
	unsigned nbufs = 1, extra = 0;
	int rc = -1;

	b = rt_virtq_get(&n->rx, &used);
	if (!b)
		return 0;
	if (used < HDR_LEN || used > BUF_SIZE)
		goto done;
	memcpy(&hdr, b, HDR_LEN);
	if (rt_virtio_has(&n->dev, VIRTIO_NET_F_MRG_RXBUF))
		nbufs = hdr.num_buffers;
	if (nbufs == 0 || nbufs > MRG_MAX_BUFS) {
		rt_printf("virtio-net: frame in %u buffers, dropped\n", nbufs);
		/* The following buffers, if any, are reclaimed as frames
		 * and dropped for their bad headers. */
		goto done;
	}
	if (used - HDR_LEN <= size) {
		memcpy(buf, b + HDR_LEN, used - HDR_LEN);
		got = used - HDR_LEN;
	} else {
		size = 0; /* too long: drop, but consume every buffer */
	}
	/* Mergeable: the rest of the frame is in the next used buffers,
	 * which the device publishes together with the first. */
	for (; extra + 1 < nbufs; extra++) {
		uint32_t l;

		more[extra] = rt_virtq_get(&n->rx, &l);
		if (!more[extra])
			goto done;
		if (l > BUF_SIZE || got + l > size) {
			size = 0;
			continue;
		}
		memcpy((uint8_t *)buf + got, more[extra], l);
		got += l;
	}
	if (size && got >= 14) {
		rc = (int)got;
		n->rx_packets++;
		n->rx_bytes += got;
	}
done:
	if (rc < 0)
		n->rx_dropped++;
	rx_post(n, b);
	for (unsigned i = 0; i < extra; i++)
		rx_post(n, more[i]);
	rt_virtq_kick(&n->dev, &n->rx);
	return rc;
}

unsigned rt_vnet_tx_pending(struct rt_vnet *n)
{
	uint8_t *b;
	uint32_t l;

	while ((b = rt_virtq_get(&n->tx, &l)) != NULL) {
		if (n->tx_free < n->tx_bufs)
			tx_stack[n->tx_free++] = b;
	}
	return n->tx_bufs - n->tx_free;
}

int rt_vnet_send(struct rt_vnet *n, const void *frame, size_t len)
{
	struct rt_virtq_buf vb;
	uint8_t *b;

	rt_vnet_tx_pending(n);
	/* Back-pressure rather than loss: when every transmit buffer is in
	 * flight, give the device a bounded while to complete some (it works
	 * on its own thread; a host under load can lag a burst of replies
	 * behind). */
	for (unsigned spin = 0; n->tx_free == 0 && spin < TX_WAIT_SPINS;
	     spin++) {
		cpu_pause();
		rt_vnet_tx_pending(n);
	}
	if (len > RT_VNET_FRAME_MAX || n->tx_free == 0) {
		n->tx_dropped++;
		return -1;
	}
	b = tx_stack[--n->tx_free];
	memset(b, 0, HDR_LEN); /* no checksum offload, no GSO */
	memcpy(b + HDR_LEN, frame, len);
	vb.addr = b;
	vb.len = (uint32_t)(HDR_LEN + len);
	vb.write = false;
	if (rt_virtq_add(&n->tx, &vb, 1, b)) {
		tx_stack[n->tx_free++] = b;
		n->tx_dropped++;
		return -1;
	}
	rt_virtq_kick(&n->dev, &n->tx);
	n->tx_packets++;
	n->tx_bytes += len;
	return 0;
}

void rt_vnet_close(struct rt_vnet *n)
{
	rt_virtio_reset(&n->dev);
}
