/*
 * tests/support/decode.h - reading a video back with libav for tests that
 * check what was encoded: demux the first stream and decode its frames in
 * order, one at a time, so each test looks only at what it asserts on.
 *
 *     tu_video v;
 *     if (tu_video_open(&v, path, 0) != 0) fail;
 *     for (const AVFrame *f; (f = tu_video_next(&v));) ... v.frames - 1 is f's index
 *     if (v.err) fail;   (a read or decode error ended the loop early)
 *     tu_video_close(&v);
 */
#ifndef KN_TESTS_SUPPORT_DECODE_H
#define KN_TESTS_SUPPORT_DECODE_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

/* Sees each packet of the first stream before it is decoded; index counts
 * packets from 0. */
typedef void (*tu_packet_fn)(void *ctx, long index, const AVPacket *pkt);

typedef struct tu_video {
    AVFormatContext *fc;
    AVStream *st;              /* the first stream */
    AVCodecContext *dc;        /* its decoder, single-threaded */
    long packets, frames;      /* read and decoded so far */
    int err;                   /* the AVERROR that ended tu_video_next early, 0 if none */
    tu_packet_fn on_packet;    /* optional, set after open */
    void *ctx;                 /* for on_packet */
    AVPacket *pkt;
    AVFrame *frame;
    int eof;
} tu_video;

/* Opens path and the decoder of its first stream. exact_gif_delays reads a
 * GIF's frame delays as written (the gif demuxer, like browsers, otherwise
 * plays delays under 2 cs as 10 cs). Returns 0, or an AVERROR with v
 * closed. */
int tu_video_open(tu_video *v, const char *path, int exact_gif_delays);

/* The next decoded frame, owned by v and valid until the next call; NULL at
 * the end of the stream, or on an error (then v->err is set). */
const AVFrame *tu_video_next(tu_video *v);

/* Frees everything; accepts a zeroed or already closed v. */
void tu_video_close(tu_video *v);

/* Walks an MP4's top-level ISO-BMFF boxes (without libav): 1 when moov
 * comes before mdat (faststart), 0 when after, -1 when the file cannot be
 * read, the boxes do not tile it exactly, or either box is missing (a
 * file that is not MP4 at all, say). */
int tu_moov_before_mdat(const char *path);

#endif
