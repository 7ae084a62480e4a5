/* tests/support/decode.c - see decode.h. */
#include "tests/support/decode.h"

#include <stdlib.h>
#include <string.h>

#include "tests/support/testutil.h"

int tu_video_open(tu_video *v, const char *path, int exact_gif_delays)
{
    memset(v, 0, sizeof *v);
    AVDictionary *opts = NULL;
    if (exact_gif_delays) av_dict_set(&opts, "min_delay", "0", 0);
    int rc = avformat_open_input(&v->fc, path, NULL, &opts);
    av_dict_free(&opts);
    if (rc < 0) goto fail;
    if ((rc = avformat_find_stream_info(v->fc, NULL)) < 0) goto fail;
    if (v->fc->nb_streams < 1) {
        rc = AVERROR_STREAM_NOT_FOUND;
        goto fail;
    }
    v->st = v->fc->streams[0];
    const AVCodec *dec = avcodec_find_decoder(v->st->codecpar->codec_id);
    if (!dec) {
        rc = AVERROR_DECODER_NOT_FOUND;
        goto fail;
    }
    v->dc = avcodec_alloc_context3(dec);
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    if (!v->dc || !v->pkt || !v->frame) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    if ((rc = avcodec_parameters_to_context(v->dc, v->st->codecpar)) < 0) goto fail;
    /* Frame threads would make what a frame holds depend on the machine. */
    v->dc->thread_count = 1;
    if ((rc = avcodec_open2(v->dc, dec, NULL)) < 0) goto fail;
    return 0;
fail:
    tu_video_close(v);
    return rc;
}

const AVFrame *tu_video_next(tu_video *v)
{
    if (v->err) return NULL;
    av_frame_unref(v->frame);
    for (;;) {
        int rc = avcodec_receive_frame(v->dc, v->frame);
        if (rc == 0) {
            v->frames++;
            return v->frame;
        }
        if (rc == AVERROR_EOF) return NULL;
        if (rc != AVERROR(EAGAIN)) {
            v->err = rc;
            return NULL;
        }
        /* The decoder wants input: the next packet of the first stream, or
         * the flush at the end of the file. */
        if (v->eof) {
            v->err = AVERROR_BUG;   /* flushed, yet it asks for more */
            return NULL;
        }
        rc = av_read_frame(v->fc, v->pkt);
        if (rc == AVERROR_EOF) {
            v->eof = 1;
            rc = avcodec_send_packet(v->dc, NULL);
        } else if (rc == 0) {
            if (v->pkt->stream_index != v->st->index) {
                av_packet_unref(v->pkt);
                continue;
            }
            if (v->on_packet) v->on_packet(v->ctx, v->packets, v->pkt);
            v->packets++;
            rc = avcodec_send_packet(v->dc, v->pkt);
            av_packet_unref(v->pkt);
        }
        if (rc < 0) {
            v->err = rc;
            return NULL;
        }
    }
}

void tu_video_close(tu_video *v)
{
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dc);
    avformat_close_input(&v->fc);
    v->st = NULL;
}

int tu_moov_before_mdat(const char *path)
{
    size_t len = 0;
    unsigned char *b = (unsigned char *)tu_read_file(path, &len);
    if (!b) return -1;
    size_t off = 0;
    long moov = -1, mdat = -1, n = 0;
    int tiled = 1;
    while (off + 8 <= len) {
        uint64_t size = ((uint64_t)b[off] << 24) | ((uint64_t)b[off + 1] << 16) |
                        ((uint64_t)b[off + 2] << 8) | b[off + 3];
        size_t hdr = 8;
        if (size == 1) {
            if (off + 16 > len) break;
            size = 0;
            for (int i = 0; i < 8; i++) size = (size << 8) | b[off + 8 + i];
            hdr = 16;
        } else if (size == 0) {
            size = len - off;   /* to the end of the file */
        }
        if (size < hdr || size > len - off) {
            tiled = 0;
            break;
        }
        if (!memcmp(b + off + 4, "moov", 4)) moov = n;
        if (!memcmp(b + off + 4, "mdat", 4)) mdat = n;
        off += size;
        n++;
    }
    free(b);
    if (!tiled || off != len || moov < 0 || mdat < 0) return -1;
    return moov < mdat;
}
