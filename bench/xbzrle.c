/*
 * The XBZRLE encoding of src/engine/xbzrle.ts written in plain C, for
 * `deno task bench` (bench/xbzrle_bench.ts compiles it with gcc -O2 and runs
 * it on the same page pairs as the TypeScript encoder).
 *
 * Usage: xbzrle PAIRS_FILE PAGES MIN_MS
 *   PAIRS_FILE holds PAGES old pages, then PAGES new pages (4096 bytes each).
 * Prints one line: encodeMBps decodeMBps encodedBytes checksum
 * (MB/s of page bytes; the checksum is FNV-1a over every encoding, so the
 * caller can check both implementations wrote the same bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE 4096

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int put_len(uint8_t *out, int d, int end, int v) {
  if (v < 0x80) {
    if (d + 1 > end) return -1;
    out[d] = (uint8_t)v;
    return d + 1;
  }
  if (d + 2 > end) return -1;
  out[d] = (uint8_t)((v & 0x7f) | 0x80);
  out[d + 1] = (uint8_t)(v >> 7);
  return d + 2;
}

/* Zero run / non-zero run encoding, 8 bytes at a time where aligned. */
static int encode(const uint8_t *old, const uint8_t *cur, uint8_t *out, int end) {
  int i = 0, d = 0;
  for (;;) {
    int zs = i;
    while (i < PAGE && (i & 7) && old[i] == cur[i]) i++;
    if (!(i & 7)) {
      while (i < PAGE) {
        uint64_t a, b;
        memcpy(&a, old + i, 8);
        memcpy(&b, cur + i, 8);
        if (a != b) break;
        i += 8;
      }
      while (i < PAGE && old[i] == cur[i]) i++;
    }
    if (i == PAGE) return d;
    d = put_len(out, d, end, i - zs);
    if (d < 0) return -1;
    int ns = i;
    while (i < PAGE && (i & 7) && old[i] != cur[i]) i++;
    if (!(i & 7)) {
      while (i < PAGE) {
        uint64_t a, b, x;
        memcpy(&a, old + i, 8);
        memcpy(&b, cur + i, 8);
        x = a ^ b;
        if ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) break;
        i += 8;
      }
      while (i < PAGE && old[i] != cur[i]) i++;
    }
    int n = i - ns;
    d = put_len(out, d, end, n);
    if (d < 0 || d + n > end) return -1;
    memcpy(out + d, cur + ns, n);
    d += n;
    if (i == PAGE) return d;
  }
}

static int get_len(const uint8_t *src, int i, int len, int *v) {
  if (i >= len) return -1;
  if (src[i] < 0x80) {
    *v = src[i];
    return i + 1;
  }
  if (i + 1 >= len || src[i + 1] == 0 || src[i + 1] >= 0x80) return -1;
  *v = (src[i] & 0x7f) | (src[i + 1] << 7);
  return *v > PAGE ? -1 : i + 2;
}

/* Applies an encoding to page with the same checks as the TypeScript decoder. */
static int decode(const uint8_t *src, int len, uint8_t *page) {
  int i = 0, d = 0, z, n;
  if (len == 0) return -1;
  while (i < len) {
    int at = i;
    if ((i = get_len(src, i, len, &z)) < 0) return -1;
    if (z == 0 && at > 0) return -1;
    d += z;
    if (d >= PAGE) return -1;
    if ((i = get_len(src, i, len, &n)) < 0 || n == 0) return -1;
    if (d + n > PAGE || i + n > len) return -1;
    for (int k = 0; k < n; k++)
      if (src[i + k] == page[d + k]) return -1;
    memcpy(page + d, src + i, n);
    i += n;
    d += n;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PAIRS_FILE PAGES MIN_MS\n", argv[0]);
    return 2;
  }
  long pages = atol(argv[2]);
  double min_ms = atof(argv[3]);
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  uint8_t *old = aligned_alloc(64, pages * PAGE);
  uint8_t *cur = aligned_alloc(64, pages * PAGE);
  uint8_t *work = aligned_alloc(64, pages * PAGE);
  uint8_t *enc = malloc(pages * PAGE);
  int *lens = malloc(pages * sizeof(int));
  if (fread(old, PAGE, pages, f) != (size_t)pages || fread(cur, PAGE, pages, f) != (size_t)pages) {
    fprintf(stderr, "%s: short file\n", argv[1]);
    return 2;
  }
  fclose(f);

  long rounds = 0;
  double t0 = now_ms(), t;
  do {
    for (long p = 0; p < pages; p++) lens[p] = encode(old + p * PAGE, cur + p * PAGE, enc + p * PAGE, PAGE);
    rounds++;
  } while ((t = now_ms()) - t0 < min_ms);
  double enc_mbps = rounds * pages * (double)PAGE / ((t - t0) / 1e3) / 1e6;

  uint64_t sum = 0, h = 0xcbf29ce484222325ULL;
  for (long p = 0; p < pages; p++) {
    int n = lens[p] < 0 ? 0 : lens[p];
    sum += n;
    for (int k = 0; k < n; k++) h = (h ^ enc[p * PAGE + k]) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)(lens[p] & 0xffff)) * 0x100000001b3ULL;
  }

  rounds = 0;
  double spent = 0;
  do {
    memcpy(work, old, pages * PAGE);
    double a = now_ms();
    for (long p = 0; p < pages; p++) {
      if (lens[p] > 0 && decode(enc + p * PAGE, lens[p], work + p * PAGE) != 0) {
        fprintf(stderr, "decode failed at page %ld\n", p);
        return 1;
      }
    }
    spent += now_ms() - a;
    rounds++;
  } while (spent < min_ms);
  if (memcmp(work, cur, pages * PAGE) != 0) {
    /* overflowed pages are not decoded; compare only the others */
    for (long p = 0; p < pages; p++) {
      if (lens[p] >= 0 && memcmp(work + p * PAGE, cur + p * PAGE, PAGE) != 0) {
        fprintf(stderr, "decoded page %ld differs\n", p);
        return 1;
      }
    }
  }
  double dec_mbps = rounds * pages * (double)PAGE / (spent / 1e3) / 1e6;
  printf("%.1f %.1f %llu %016llx\n", enc_mbps, dec_mbps, (unsigned long long)sum,
         (unsigned long long)h);
  return 0;
}
