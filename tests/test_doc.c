/*
 * tests/test_doc.c - the job document parser (doc/doc.h): a document with
 * every v1 element type and scene form compiles into the expected slot model,
 * and every kind of invalid document fails with the exact JSON pointer of the
 * field at fault and a message that says what is wrong.
 *
 * Documents are written with single quotes and turned into JSON by tu_doc_q(), so
 * none of them may contain a literal apostrophe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "common/limits.h"
#include "doc/doc.h"
#include "tests/support/docparse.h"
#include "tests/support/testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static const kn_value *slot(const kn_doc *d, const kn_elem *e, kn_prop p)
{
    assert_true(e->slot[p] >= 0);
    assert_true((size_t)e->slot[p] < d->nslots);
    return &d->init[e->slot[p]];
}


#define HEAD "{'width': 640, 'height': 360, 'fps': 30, "

/* ---- a valid document with everything --------------------------------- */

static const char *FULL =
    HEAD "'duration': 20, 'background': '#102030',"
    " 'metadata': {'anything': [1, 2, {'x': null}]},"
    " 'vars': {'speed': 2, 'tint': '#ff0000', 'label': 'hello', 'on': true, 'ys': [1, 2, 3]},"
    " 'elements': ["
    "  {'type': 'rect', 'id': 'sq', 'x': 10, 'y': 20, 'width': 100, 'height': 50,"
    "   'radius': 4, 'fill': '#ff8800', 'scale': 2, 'dash': [4, 2], 'opacity': 0.5},"
    "  {'type': 'circle', 'cx': 5, 'cy': 6, 'r': 7},"
    "  {'type': 'ellipse', 'id': 'el', 'cx': 1, 'cy': 2, 'rx': 3, 'ry': 4, 'origin': [0, 1],"
    "   'visible': false, 'rotation': 45},"
    "  {'type': 'line', 'id': 'ln', 'x1': 0, 'y1': 0, 'x2': 10, 'y2': 10, 'stroke': '#fff',"
    "   'stroke_width': 3, 'line_cap': 'round', 'line_join': 'bevel'},"
    "  {'type': 'polyline', 'id': 'pl', 'points': [[0, 0], [10, 5], [20, 0]]},"
    "  {'type': 'polygon', 'id': 'pg', 'points': {'x': [0, 1, 2], 'y': [3, 4, 5]}},"
    "  {'type': 'text', 'id': 'tx', 'x': 5, 'y': 6, 'text': 'Hi', 'align': 'center',"
    "   'scale': [1, 2]},"
    "  {'type': 'group', 'id': 'g', 'x': 100, 'children': ["
    "    {'type': 'rect', 'id': 'inner', 'width': 1, 'height': 2}]}"
    " ],"
    " 'timeline': {'sequence': ["
    "  {'tween': {'sq.x': [0, 100], 'sq.scale': [1, 2.5], 'sq.fill': '#f00'},"
    "   'duration': 2, 'easing': 'easeInOutCubic'},"
    "  {'wait': 1},"
    "  {'set': {'tx.text': 'Bye', 'on': false, 'ln.line_cap': 'square'}},"
    "  {'parallel': [{'tween': {'el.rx': 10}, 'duration': 1},"
    "                {'tween': {'speed': [0, 1], 'sq.scale': [[1, 1], 3]}, 'duration': 3,"
    "                 'easing': {'name': 'easeOutElastic', 'amplitude': 1.5, 'period': 0.4}}]},"
    "  {'sequence': [{'tween': {'pl.points': [[1, 1], [2, 2], [3, 3]]}, 'duration': 4}],"
    "   'crop': [1, 3], 'speed': 2, 'repeat': 3},"
    "  {'parallel': [{'tween': {'ys': [[0, 0, 0], [1, 1, 1]]}, 'duration': 2}],"
    "   'duration': 5, 'reverse': true}"
    " ]},"
    " 'frames': [{'index': 5, 'set': {'sq.opacity': 0.25}},"
    "            {'index': 2, 'set': {'ys': [9], 'tx.text': 'frame two'}},"
    "            {'set': {'g.x': 1}, 'index': 7}],"
    " 'output': {'encoder': 'cpu', 'preset': 'fast', 'quality': 18, 'keyframe_interval': 1}}";

static void test_full_model(void **state)
{
    (void)state;
    kn_doc *d = tu_doc_ok(FULL);

    assert_int_equal(d->width, 640);
    assert_int_equal(d->height, 360);
    assert_int_equal(d->fps_num, 30);
    assert_int_equal(d->fps_den, 1);
    assert_true(d->fps == 30.0);
    assert_int_equal(d->n_frames, 600);
    assert_true(fabs(d->duration - 20.0) < 1e-12);
    assert_true(fabs(d->background.r - 0x10 / 255.0) < 1e-9);
    assert_true(fabs(d->background.b - 0x30 / 255.0) < 1e-9);
    assert_true(d->background.a == 1.0);

    /* slots: 5 vars + rect 16 + circle 14 + ellipse 15 + line 15 + polyline 12
     * + polygon 12 + text 18 + group 7 (no paint) + inner rect 16 */
    assert_int_equal(d->nslots, 5 + 16 + 14 + 15 + 15 + 12 + 12 + 18 + 7 + 16);
    for (size_t i = 0; i < d->nslots; i++)
        assert_int_equal(kn_doc_slot_type(d, (int)i), d->init[i].type);
    assert_int_equal(kn_doc_slot_type(d, -1), KN_VT_NONE);
    assert_int_equal(kn_doc_slot_type(d, (int)d->nslots), KN_VT_NONE);

    /* vars come first, in document order */
    assert_string_equal(d->slot_name[0], "speed");
    assert_int_equal(d->init[0].type, KN_VT_NUM);
    assert_true(d->init[0].num == 2);
    assert_int_equal(d->init[1].type, KN_VT_COLOR);
    assert_true(d->init[1].color.r == 1 && d->init[1].color.g == 0);
    assert_int_equal(d->init[2].type, KN_VT_STR);
    assert_string_equal(d->init[2].str, "hello");
    assert_int_equal(d->init[3].type, KN_VT_BOOL);
    assert_true(d->init[3].num == 1);
    assert_int_equal(d->init[4].type, KN_VT_ARRAY);
    assert_int_equal(d->init[4].n, 3);
    assert_true(d->init[4].arr[2] == 3);

    assert_int_equal(d->nelements, 8);
    const kn_elem *e = d->elements;

    /* rect */
    assert_int_equal(e[0].type, KN_E_RECT);
    assert_string_equal(e[0].id, "sq");
    assert_int_equal(slot(d, &e[0], KN_P_OPACITY)->type, KN_VT_NUM);
    assert_true(slot(d, &e[0], KN_P_OPACITY)->num == 0.5);
    assert_int_equal(slot(d, &e[0], KN_P_VISIBLE)->type, KN_VT_BOOL);
    assert_true(slot(d, &e[0], KN_P_VISIBLE)->num == 1);
    assert_true(slot(d, &e[0], KN_P_ROTATION)->num == 0);
    const kn_value *sc = slot(d, &e[0], KN_P_SCALE);
    assert_int_equal(sc->type, KN_VT_ARRAY);
    assert_int_equal(sc->n, 2);
    assert_true(sc->arr[0] == 2 && sc->arr[1] == 2);   /* number s -> [s, s] */
    assert_int_equal(slot(d, &e[0], KN_P_ORIGIN)->type, KN_VT_NONE);
    const kn_value *fill = slot(d, &e[0], KN_P_FILL);
    assert_int_equal(fill->type, KN_VT_COLOR);
    assert_true(fill->color.r == 1 && fabs(fill->color.g - 0x88 / 255.0) < 1e-9 &&
                fill->color.b == 0 && fill->color.a == 1);
    assert_int_equal(slot(d, &e[0], KN_P_STROKE)->type, KN_VT_COLOR);
    assert_true(slot(d, &e[0], KN_P_STROKE)->color.a == 0);   /* none */
    assert_true(slot(d, &e[0], KN_P_STROKE_WIDTH)->num == 1);
    assert_int_equal(slot(d, &e[0], KN_P_DASH)->n, 2);
    assert_string_equal(slot(d, &e[0], KN_P_LINE_CAP)->str, "butt");
    assert_string_equal(slot(d, &e[0], KN_P_LINE_JOIN)->str, "miter");
    assert_true(slot(d, &e[0], KN_P_X)->num == 10);
    assert_true(slot(d, &e[0], KN_P_HEIGHT)->num == 50);
    assert_true(slot(d, &e[0], KN_P_RADIUS)->num == 4);
    assert_int_equal(e[0].slot[KN_P_CX], -1);
    assert_int_equal(e[0].slot[KN_P_POINTS], -1);
    assert_int_equal(e[0].slot[KN_P_TEXT], -1);
    assert_string_equal(d->slot_name[e[0].slot[KN_P_X]], "sq.x");

    /* circle without id: named by its position, defaults */
    assert_int_equal(e[1].type, KN_E_CIRCLE);
    assert_null(e[1].id);
    assert_string_equal(d->slot_name[e[1].slot[KN_P_R]], "#1.r");
    assert_true(slot(d, &e[1], KN_P_R)->num == 7);
    assert_true(slot(d, &e[1], KN_P_FILL)->color.a == 0);
    assert_int_equal(slot(d, &e[1], KN_P_DASH)->type, KN_VT_ARRAY);
    assert_int_equal(slot(d, &e[1], KN_P_DASH)->n, 0);
    assert_non_null(slot(d, &e[1], KN_P_DASH)->arr);
    sc = slot(d, &e[1], KN_P_SCALE);
    assert_true(sc->n == 2 && sc->arr[0] == 1 && sc->arr[1] == 1);
    assert_int_equal(e[1].slot[KN_P_X], -1);

    /* ellipse */
    const kn_value *org = slot(d, &e[2], KN_P_ORIGIN);
    assert_int_equal(org->type, KN_VT_ARRAY);
    assert_true(org->n == 2 && org->arr[0] == 0 && org->arr[1] == 1);
    assert_true(slot(d, &e[2], KN_P_VISIBLE)->num == 0);
    assert_true(slot(d, &e[2], KN_P_ROTATION)->num == 45);
    assert_true(slot(d, &e[2], KN_P_RY)->num == 4);

    /* line */
    assert_string_equal(slot(d, &e[3], KN_P_LINE_CAP)->str, "round");
    assert_string_equal(slot(d, &e[3], KN_P_LINE_JOIN)->str, "bevel");
    assert_true(slot(d, &e[3], KN_P_STROKE)->color.g == 1);
    assert_true(slot(d, &e[3], KN_P_STROKE_WIDTH)->num == 3);
    assert_true(slot(d, &e[3], KN_P_Y2)->num == 10);

    /* points, both forms, flattened */
    const kn_value *pts = slot(d, &e[4], KN_P_POINTS);
    assert_int_equal(pts->type, KN_VT_ARRAY);
    assert_int_equal(pts->n, 6);
    assert_true(pts->arr[2] == 10 && pts->arr[3] == 5 && pts->arr[4] == 20);
    pts = slot(d, &e[5], KN_P_POINTS);
    assert_int_equal(pts->n, 6);
    const double want[6] = { 0, 3, 1, 4, 2, 5 };
    for (int i = 0; i < 6; i++) assert_true(pts->arr[i] == want[i]);

    /* text */
    assert_int_equal(e[6].type, KN_E_TEXT);
    assert_string_equal(slot(d, &e[6], KN_P_TEXT)->str, "Hi");
    assert_string_equal(slot(d, &e[6], KN_P_FONT)->str, "DejaVu Sans");
    assert_true(slot(d, &e[6], KN_P_SIZE)->num == 32);
    assert_string_equal(slot(d, &e[6], KN_P_ALIGN)->str, "center");
    assert_string_equal(slot(d, &e[6], KN_P_BASELINE)->str, "alphabetic");
    fill = slot(d, &e[6], KN_P_FILL);
    assert_true(fill->color.r == 1 && fill->color.g == 1 && fill->color.b == 1 &&
                fill->color.a == 1);
    sc = slot(d, &e[6], KN_P_SCALE);
    assert_true(sc->arr[0] == 1 && sc->arr[1] == 2);

    /* group */
    assert_int_equal(e[7].type, KN_E_GROUP);
    assert_true(slot(d, &e[7], KN_P_X)->num == 100);
    assert_true(slot(d, &e[7], KN_P_Y)->num == 0);
    assert_int_equal(e[7].nchildren, 1);
    assert_string_equal(e[7].children[0].id, "inner");
    assert_true(slot(d, &e[7].children[0], KN_P_HEIGHT)->num == 2);
    assert_int_equal(e[7].slot[KN_P_WIDTH], -1);

    /* timeline */
    const kn_scene *tl = d->timeline;
    assert_non_null(tl);
    assert_int_equal(tl->type, KN_S_SEQUENCE);
    assert_int_equal(tl->nchildren, 6);
    const double starts[6] = { 0, 2, 3, 3, 6, 9 };
    const double lens[6] = { 2, 1, 0, 3, 3, 5 };
    for (int i = 0; i < 6; i++) {
        assert_true(fabs(tl->child_start[i] - starts[i]) < 1e-12);
        assert_true(fabs(tl->children[i].length - lens[i]) < 1e-12);
    }
    assert_true(fabs(tl->base - 14) < 1e-12);
    assert_true(fabs(tl->length - 14) < 1e-12);
    assert_int_equal(tl->repeat, 1);
    assert_true(tl->speed == 1);

    const kn_scene *tw = &tl->children[0];
    assert_int_equal(tw->type, KN_S_TWEEN);
    assert_true(tw->base == 2);
    assert_int_equal(tw->ntargets, 3);
    assert_true(tw->has_easing);
    assert_int_equal(tw->easing.kind, KN_EASE_IN_OUT_CUBIC);
    assert_int_equal(tw->targets[0].slot, e[0].slot[KN_P_X]);
    assert_true(tw->targets[0].has_from);
    assert_true(tw->targets[0].from.num == 0 && tw->targets[0].to.num == 100);
    /* [1, 2.5] is a valid scale, so it is the `to` */
    assert_int_equal(tw->targets[1].slot, e[0].slot[KN_P_SCALE]);
    assert_false(tw->targets[1].has_from);
    assert_true(tw->targets[1].to.n == 2 && tw->targets[1].to.arr[0] == 1 &&
                tw->targets[1].to.arr[1] == 2.5);
    assert_int_equal(tw->targets[2].to.type, KN_VT_COLOR);
    assert_true(tw->targets[2].to.color.r == 1 && tw->targets[2].to.color.g == 0);

    assert_int_equal(tl->children[1].type, KN_S_WAIT);
    assert_true(tl->children[1].base == 1);

    const kn_scene *set = &tl->children[2];
    assert_int_equal(set->type, KN_S_SET);
    assert_int_equal(set->ntargets, 3);
    assert_string_equal(set->targets[0].to.str, "Bye");
    assert_int_equal(set->targets[1].slot, 3);
    assert_int_equal(set->targets[1].to.type, KN_VT_BOOL);
    assert_true(set->targets[1].to.num == 0);
    assert_string_equal(set->targets[2].to.str, "square");

    const kn_scene *par = &tl->children[3];
    assert_int_equal(par->type, KN_S_PARALLEL);
    assert_null(par->child_start);
    assert_true(par->base == 3);
    const kn_scene *el = &par->children[1];
    assert_int_equal(el->easing.kind, KN_EASE_OUT_ELASTIC);
    assert_true(el->easing.p[0] == 1.5 && el->easing.p[1] == 0.4);
    assert_true(el->targets[0].has_from);
    assert_true(el->targets[0].from.num == 0 && el->targets[0].to.num == 1);
    /* [[1, 1], 3]: from [1, 1] to 3 -> [3, 3] */
    assert_true(el->targets[1].has_from);
    assert_true(el->targets[1].from.arr[0] == 1 && el->targets[1].to.arr[0] == 3 &&
                el->targets[1].to.arr[1] == 3);

    /* crop [1, 3] of 4 -> 2, speed 2 -> 1, repeat 3 -> 3 */
    const kn_scene *mod = &tl->children[4];
    assert_true(mod->base == 4);
    assert_true(mod->has_crop && mod->crop_a == 1 && mod->crop_b == 3);
    assert_true(mod->speed == 2);
    assert_int_equal(mod->repeat, 3);
    assert_true(mod->length == 3);
    assert_true(mod->child_start[0] == 0);
    assert_int_equal(mod->children[0].targets[0].to.n, 6);

    /* stretched to exactly 5 */
    const kn_scene *st = &tl->children[5];
    assert_true(st->base == 2);
    assert_true(st->has_duration && st->duration == 5);
    assert_true(st->reverse);
    assert_true(st->length == 5);
    assert_true(st->children[0].targets[0].has_from);
    assert_int_equal(st->children[0].targets[0].from.n, 3);

    /* frames: sorted, searchable; frame entries may change array lengths */
    assert_int_equal(d->nframes_entries, 3);
    assert_int_equal(d->frames[0].index, 2);
    assert_int_equal(d->frames[1].index, 5);
    assert_int_equal(d->frames[2].index, 7);
    const kn_frame_entry *fe = kn_doc_frame_entry(d, 2);
    assert_non_null(fe);
    assert_int_equal(fe->nsets, 2);
    assert_int_equal(fe->sets[0].slot, 4);
    assert_int_equal(fe->sets[0].to.n, 1);
    assert_string_equal(fe->sets[1].to.str, "frame two");
    assert_ptr_equal(kn_doc_frame_entry(d, 5), &d->frames[1]);
    assert_ptr_equal(kn_doc_frame_entry(d, 7), &d->frames[2]);
    assert_null(kn_doc_frame_entry(d, 0));
    assert_null(kn_doc_frame_entry(d, 3));
    assert_null(kn_doc_frame_entry(d, 8));
    assert_null(kn_doc_frame_entry(d, -1));
    assert_int_equal(d->frames[2].sets[0].slot, tu_doc_find_slot(d, "g.x"));

    /* output */
    assert_int_equal(d->output.format, KN_FORMAT_MP4);
    assert_int_equal(d->output.codec, KN_CODEC_H264);
    assert_int_equal(d->output.encoder, KN_ENCODER_CPU);
    assert_string_equal(d->output.preset, "fast");
    assert_int_equal(d->output.quality, 18);
    assert_int_equal(d->output.bitrate_kbps, 0);
    assert_true(d->output.keyframe_interval == 1);

    kn_doc_destroy(d);
}

static void test_defaults(void **state)
{
    (void)state;
    kn_doc *d = tu_doc_ok(HEAD "'duration': 1}");
    assert_int_equal(d->n_frames, 30);
    assert_int_equal(d->nslots, 0);
    assert_int_equal(d->nelements, 0);
    assert_null(d->timeline);
    assert_int_equal(d->nframes_entries, 0);
    assert_null(kn_doc_frame_entry(d, 0));
    assert_true(d->background.r == 0 && d->background.a == 1);
    assert_int_equal(d->output.format, KN_FORMAT_MP4);
    assert_int_equal(d->output.codec, KN_CODEC_H264);
    assert_int_equal(d->output.encoder, KN_ENCODER_AUTO);
    assert_string_equal(d->output.preset, "");
    assert_int_equal(d->output.quality, 20);
    assert_int_equal(d->output.bitrate_kbps, 0);
    assert_true(d->output.keyframe_interval == 2);
    kn_doc_destroy(d);

    d = tu_doc_ok(HEAD "'duration': 1, 'output': {'bitrate': 5000, 'encoder': 'gpu', "
                 "'preset': 'p5'}}");
    assert_int_equal(d->output.bitrate_kbps, 5000);
    assert_string_equal(d->output.preset, "p5");
    kn_doc_destroy(d);

    /* Each format's default codec; hevc in mp4. */
    d = tu_doc_ok(HEAD "'duration': 1, 'output': {'format': 'webm', 'preset': 'fast'}}");
    assert_int_equal(d->output.format, KN_FORMAT_WEBM);
    assert_int_equal(d->output.codec, KN_CODEC_VP9);
    kn_doc_destroy(d);
    d = tu_doc_ok(HEAD "'duration': 1, 'output': {'codec': 'hevc', 'encoder': 'cpu', 'preset': 'slow'}}");
    assert_int_equal(d->output.format, KN_FORMAT_MP4);
    assert_int_equal(d->output.codec, KN_CODEC_HEVC);
    kn_doc_destroy(d);
    d = tu_doc_ok(HEAD "'duration': 1, 'output': {'format': 'gif'}}");
    assert_int_equal(d->output.format, KN_FORMAT_GIF);
    assert_int_equal(d->output.codec, KN_CODEC_GIF);
    kn_doc_destroy(d);
    d = tu_doc_ok("{'width': 64, 'height': 48, 'fps': 100, 'duration': 1, 'output': {'format': "
                 "'gif', 'codec': 'gif', 'encoder': 'cpu'}}");
    assert_int_equal(d->output.codec, KN_CODEC_GIF);
    kn_doc_destroy(d);
    kn_doc_destroy(NULL);
}

static void test_fps(void **state)
{
    (void)state;
    static const struct { const char *fps, *dur; int num, den; } cases[] = {
        { "29.97", "10", 30000, 1001 }, { "23.976", "10", 24000, 1001 },
        { "59.94", "10", 60000, 1001 }, { "119.88", "10", 120000, 1001 },
        { "29.97002997002997", "10", 30000, 1001 }, { "25", "10", 25, 1 },
        { "60.0", "10", 60, 1 }, { "240", "10", 240, 1 }, { "12.5", "10", 25, 2 },
        { "0.001", "1000", 1, 1000 }, { "7.125", "10", 57, 8 }, { "0.5", "2", 1, 2 },
        /* beyond 3 decimals: the closest fraction with a denominator up to 1e6 */
        { "0.333333", "30", 333333, 1000000 }, { "0.3333333333333333", "30", 1, 3 },
        { "0.0001", "100000", 1, 10000 }, { "14.999", "10", 14999, 1000 },
        { "0.142857", "70", 142857, 1000000 }, { "0.14285714285714285", "70", 1, 7 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{'width': 16, 'height': 16, 'fps': %s, 'duration': %s}",
                 cases[i].fps, cases[i].dur);
        kn_doc *d = tu_doc_ok(buf);
        assert_int_equal(d->fps_num, cases[i].num);
        assert_int_equal(d->fps_den, cases[i].den);
        assert_true(d->fps == (double)cases[i].num / cases[i].den);
        kn_doc_destroy(d);
    }
}

static void test_ntsc_frames(void **state)
{
    (void)state;
    kn_doc *d = tu_doc_ok("{'width': 1920, 'height': 1080, 'fps': 29.97, 'duration': 10}");
    assert_int_equal(d->fps_num, 30000);
    assert_int_equal(d->fps_den, 1001);
    assert_int_equal(d->n_frames, 300);                /* round(10 * 29.97002997) */
    assert_true(fabs(d->duration - 300 * 1001 / 30000.0) < 1e-12);
    assert_true(kn_doc_frame_time(d, 0) == 0);
    assert_true(kn_doc_frame_time(d, 30000) == 1001);  /* exact */
    assert_true(fabs(kn_doc_frame_time(d, 299) - 299 * 1001 / 30000.0) < 1e-12);
    kn_doc_destroy(d);
}

static void test_length_sources(void **state)
{
    (void)state;
    /* from the timeline: 2.5 s at 24 fps */
    kn_doc *d = tu_doc_ok("{'width': 64, 'height': 64, 'fps': 24, 'vars': {'a': 0},"
                         " 'timeline': {'tween': {'a': 1}, 'duration': 2.5}}");
    assert_int_equal(d->n_frames, 60);
    assert_true(d->duration == 2.5);
    kn_doc_destroy(d);

    /* duration wins over the timeline; the timeline may be longer */
    d = tu_doc_ok("{'width': 64, 'height': 64, 'fps': 24, 'duration': 1, 'vars': {'a': 0},"
                 " 'timeline': {'tween': {'a': 1}, 'duration': 2.5}}");
    assert_int_equal(d->n_frames, 24);
    kn_doc_destroy(d);

    /* from frames alone, in any order */
    d = tu_doc_ok("{'width': 64, 'height': 64, 'fps': 10, 'vars': {'a': 0},"
                 " 'frames': [{'set': {'a': 0}}, {'index': 2, 'set': {'a': 2}},"
                 " {'index': 1, 'set': {'a': 1}}]}");
    assert_int_equal(d->n_frames, 3);
    assert_true(fabs(d->duration - 0.3) < 1e-12);
    for (long i = 0; i < 3; i++) {
        const kn_frame_entry *fe = kn_doc_frame_entry(d, i);
        assert_non_null(fe);
        assert_int_equal(fe->index, i);
        assert_true(fe->sets[0].to.num == (double)i);
    }
    kn_doc_destroy(d);

    /* a timeline of length 0 defers to frames */
    d = tu_doc_ok("{'width': 64, 'height': 64, 'fps': 10, 'vars': {'a': 0},"
                 " 'timeline': {'set': {'a': 5}}, 'frames': [{'set': {}}, {'set': {}}]}");
    assert_int_equal(d->n_frames, 2);
    assert_true(d->timeline->length == 0);
    kn_doc_destroy(d);

    /* frames beyond a short duration would be an error, but within it fine */
    d = tu_doc_ok(HEAD "'duration': 0.1, 'frames': [{'set': {}}, {'set': {}}, {'set': {}}]}");
    assert_int_equal(d->n_frames, 3);
    kn_doc_destroy(d);
}

static void test_timeline_forms(void **state)
{
    (void)state;
    /* crop with speed and repeat on a tween; easing as a param object;
     * a tween of 0 s; strings, bools and enums tweened */
    kn_doc *d = tu_doc_ok(
        HEAD "'vars': {'a': 0, 'flag': false, 'word': 'x'},"
        " 'elements': [{'type': 'line', 'id': 'l'}],"
        " 'timeline': {'parallel': ["
        "   {'tween': {'a': 10}, 'duration': 8, 'crop': [2, 6], 'speed': 0.5, 'repeat': 2},"
        "   {'tween': {'flag': true, 'word': ['a', 'b'], 'l.line_join': 'round'}, 'duration': 0},"
        "   {'sequence': [{'wait': 1}, {'wait': 2}], 'duration': 6, 'easing': 'steps(3)'},"
        "   {'wait': 1.5, 'repeat': 4, 'reverse': false}"
        " ]}}");
    const kn_scene *p = d->timeline;
    assert_true(p->children[0].length == 16);    /* (6-2) / 0.5 * 2 */
    assert_true(p->children[1].length == 0);
    assert_true(p->children[1].targets[1].has_from);
    assert_string_equal(p->children[1].targets[1].from.str, "a");
    assert_string_equal(p->children[1].targets[2].to.str, "round");
    assert_true(p->children[2].length == 6);
    assert_true(p->children[2].child_start[1] == 1);
    assert_int_equal(p->children[2].easing.kind, KN_EASE_STEPS);
    assert_true(p->children[3].length == 6);
    assert_true(p->base == 16);
    assert_true(p->length == 16);
    assert_int_equal(d->n_frames, 480);
    kn_doc_destroy(d);

    /* array lengths: a set may change an array that is never tweened */
    d = tu_doc_ok(HEAD "'duration': 1, 'vars': {'v': [1, 2]},"
                 " 'timeline': {'set': {'v': [1, 2, 3]}}}");
    assert_int_equal(d->timeline->targets[0].to.n, 3);
    kn_doc_destroy(d);
    /* and one that is tweened when it keeps the length */
    d = tu_doc_ok(HEAD "'duration': 1, 'vars': {'v': [1, 2]},"
                 " 'timeline': {'sequence': [{'set': {'v': [5, 6]}}, {'tween': {'v': [0, 0]},"
                 " 'duration': 1}]}}");
    kn_doc_destroy(d);
}

/* ---- invalid documents ------------------------------------------------ */

typedef struct bad_case {
    const char *doc;
    int code;
    const char *path;
    const char *phrase;   /* must appear in the message; NULL: not checked */
} bad_case;

#define EL(x) HEAD "'duration': 2, 'elements': [" x "]}"
#define SQ "{'type': 'rect', 'id': 'sq', 'width': 10, 'height': 10, 'dash': [4, 2]}"
#define TL(x) HEAD "'duration': 2, 'vars': {'a': 1}, 'elements': [" SQ "], 'timeline': " x "}"
#define FR(x) HEAD "'duration': 2, 'vars': {'a': 1}, 'frames': " x "}"
#define OUT(x) HEAD "'duration': 2, 'output': " x "}"

static const bad_case BAD[] = {
    /* top level */
    { "[1, 2]", KN_EINVAL, "", "JSON object" },
    { HEAD "'duration': 2, 'colour': 'red'}", KN_EINVAL, "/colour",
      "unknown field \"colour\" (allowed: width, height, fps" },
    { "{'height': 360, 'fps': 30, 'duration': 1}", KN_EINVAL, "/width", "missing field" },
    { "{'width': 641, 'height': 360, 'fps': 30, 'duration': 1}", KN_EINVAL, "/width",
      "width 641 is odd: mp4 (yuv420p) needs even sizes" },
    { "{'width': 640, 'height': 361, 'fps': 30, 'duration': 1}", KN_EINVAL, "/height",
      "height 361 is odd" },
    { "{'width': 8, 'height': 360, 'fps': 30, 'duration': 1}", KN_EINVAL, "/width",
      "an integer from 16 to 7680, got 8" },
    { "{'width': 640, 'height': 5000, 'fps': 30, 'duration': 1}", KN_EINVAL, "/height",
      "16 to 4320" },
    { "{'width': 640.5, 'height': 360, 'fps': 30, 'duration': 1}", KN_EINVAL, "/width",
      "integer" },
    { "{'width': 640, 'height': 360, 'fps': 0, 'duration': 1}", KN_EINVAL, "/fps",
      "> 0 and <= 240" },
    { "{'width': 640, 'height': 360, 'fps': 300, 'duration': 1}", KN_EINVAL, "/fps",
      "got 300" },
    { "{'width': 640, 'height': 360, 'fps': '30', 'duration': 1}", KN_EINVAL, "/fps",
      "got a string" },
    { "{'width': 640, 'height': 360, 'fps': 0.0000001, 'duration': 1}", KN_EINVAL, "/fps",
      "too small" },
    { "{'width': 640, 'height': 360, 'fps': 240.0001, 'duration': 1}", KN_EINVAL, "/fps",
      "got 240.0001" },
    { HEAD "'duration': 1, 'output': {'bitrate': 1000001}}", KN_EINVAL, "/output/bitrate",
      "from 1 to 1000000, got 1000001" },
    { HEAD "'duration': 0}", KN_EINVAL, "/duration", "> 0" },
    { HEAD "'duration': 0.01}", KN_EINVAL, "/duration", "less than one frame" },
    { HEAD "'duration': 4000}", KN_EINVAL, "/duration", "more than the limit of 100000" },
    { "{'width': 7680, 'height': 4320, 'fps': 30, 'duration': 100}", KN_EINVAL, "/duration",
      "pixels" },
    { HEAD "'vars': {}}", KN_EINVAL, "",
      "cannot tell the video's length: give duration, a timeline or frames" },
    { HEAD "'vars': {'a': 0}, 'timeline': {'tween': {'a': 1}, 'duration': 0.01}}", KN_EINVAL,
      "/timeline", "less than one frame" },
    { HEAD "'duration': 1, 'background': 'nope'}", KN_EINVAL, "/background", NULL },
    { HEAD "'duration': 1, 'metadata': [1]}", KN_EINVAL, "/metadata", "expected an object" },
    { HEAD "'duration': 1, 'metadata': 'x'}", KN_EINVAL, "/metadata", "got a string" },
    { "{'width': 640,\n 'height': }", KN_EJSON, "", "invalid JSON" },
    { "{'width': 640, 'width': 640}", KN_EJSON, "", "invalid JSON" },
    { "", KN_EJSON, "", "invalid JSON" },
    { HEAD "'duration': 1} trailing", KN_EJSON, "", "invalid JSON" },

    /* vars */
    { HEAD "'duration': 1, 'vars': {'pi': 3}}", KN_EINVAL, "/vars/pi", "reserved" },
    { HEAD "'duration': 1, 'vars': {'easeInQuad': 3}}", KN_EINVAL, "/vars/easeInQuad",
      "reserved" },
    { HEAD "'duration': 1, 'vars': {'2x': 3}}", KN_EINVAL, "/vars/2x", "not an identifier" },
    { HEAD "'duration': 1, 'vars': {'a': null}}", KN_EINVAL, "/vars/a", "got null" },
    { HEAD "'duration': 1, 'vars': {'a': '=t*'}}", KN_EINVAL, "/vars/a", "column" },
    { HEAD "'duration': 1, 'vars': {'a': '=b', 'b': 1}}", KN_EINVAL, "/vars/a", "\"b\"" },
    { HEAD "'duration': 1, 'vars': {'a': [1, 'x']}}", KN_EINVAL, "/vars/a/1",
      "expected a number, got a string" },
    { HEAD "'duration': 1, 'vars': {'a': {'linspace': [0, 1]}}}", KN_EINVAL,
      "/vars/a/linspace", "[start, stop, count]" },
    { HEAD "'duration': 1, 'vars': {'a': {'linspace': [0, 1, 2.5]}}}", KN_EINVAL,
      "/vars/a/linspace/2", "integer" },

    /* elements */
    { EL("{'type': 'rect', 'width': 1, 'height': 1, 'colour': 'red'}"), KN_EINVAL,
      "/elements/0/colour", "unknown field \"colour\" for a rect (allowed: id, type, opacity" },
    { EL("{'type': 'group', 'children': [{'type': 'circle', 'r': 1},"
         " {'type': 'line', 'fil': '#fff'}]}"), KN_EINVAL, "/elements/0/children/1/fil",
      "unknown field \"fil\"" },
    { EL("{'type': 'circle', 'r': 1, 'width': 3}"), KN_EINVAL, "/elements/0/width",
      "unknown field" },
    { EL("{'type': 'rect', 'width': 1, 'height': 1, 'fill': '#12345'}"), KN_EINVAL,
      "/elements/0/fill", NULL },
    { EL("{'type': 'rect', 'width': 1, 'height': 1, 'stroke': 7}"), KN_EINVAL,
      "/elements/0/stroke", "expected a colour" },
    { EL("{'type': 'rect', 'width': 1, 'height': 1, 'fill': {'linear': [0, 0, 1, 1],"
         " 'stops': [[0.5, '#f00'], [0.2, '#00f']]}}"), KN_EINVAL, "/elements/0/fill/stops/1/0",
      "stop offsets must not decrease" },
    { EL("{'type': 'image', 'width': 1, 'height': 1, 'src': 'http://x/a.png'}"), KN_EINVAL,
      "/elements/0/src", "data: URI" },
    { EL(SQ ", {'type': 'circle', 'id': 'sq', 'r': 1}"), KN_EINVAL, "/elements/1/id",
      "duplicate id \"sq\"" },
    { EL("{'type': 'group', 'id': 'g', 'children': [{'type': 'line', 'id': 'g'}]}"),
      KN_EINVAL, "/elements/0/children/0/id", "duplicate id" },
    { EL("{'type': 'line', 'id': 'a.b'}"), KN_EINVAL, "/elements/0/id", "contains '.'" },
    { EL("{'type': 'line', 'id': ''}"), KN_EINVAL, "/elements/0/id", "empty" },
    { EL("{'type': 'line', 'id': 5}"), KN_EINVAL, "/elements/0/id", "string" },
    { EL("{'type': 'path', 'd': 'M0 0 L'}"), KN_EINVAL, "/elements/0/d", "column" },
    { EL("{'type': 'path', 'd': 5}"), KN_EINVAL, "/elements/0/d", "SVG path data" },
    { EL("{'type': 'path'}"), KN_EINVAL, "/elements/0/d", "missing field \"d\"" },
    { EL("{'type': 'path', 'd': 'M0 0', 'points': []}"), KN_EINVAL, "/elements/0/points",
      "unknown field" },
    { EL("{'type': 'plot'}"), KN_EINVAL, "/elements/0/width", "a plot needs it" },
    { EL("{'type': 'square'}"), KN_EINVAL, "/elements/0/type", "unknown element type" },
    { EL("{'x': 1}"), KN_EINVAL, "/elements/0/type", "missing field \"type\"" },
    { EL("7"), KN_EINVAL, "/elements/0", "got a number" },
    { HEAD "'duration': 2, 'elements': {}}", KN_EINVAL, "/elements", "array of elements" },
    { EL("{'type': 'rect', 'height': 1}"), KN_EINVAL, "/elements/0/width",
      "missing field \"width\": a rect needs it" },
    { EL("{'type': 'ellipse', 'rx': 1}"), KN_EINVAL, "/elements/0/ry", "missing field" },
    { EL("{'type': 'circle', 'r': -1}"), KN_EINVAL, "/elements/0/r", ">= 0" },
    { EL("{'type': 'line', 'opacity': 1.5}"), KN_EINVAL, "/elements/0/opacity",
      "from 0 to 1, got 1.5" },
    { EL("{'type': 'line', 'visible': 1}"), KN_EINVAL, "/elements/0/visible", "true or false" },
    { EL("{'type': 'line', 'x1': '=2*tt'}"), KN_EINVAL, "/elements/0/x1", "\"tt\"" },
    { EL("{'type': 'line', 'x1': '=(1'}"), KN_EINVAL, "/elements/0/x1", "column" },
    { EL("{'type': 'text', 'text': 'f={f:.3q}'}"), KN_EINVAL, "/elements/0/text", "template" },
    { EL("{'type': 'polyline', 'points': {'x': '=i', 'y': '=x'}}"), KN_EINVAL,
      "/elements/0/points/x", "both be expressions" },
    { HEAD "'duration': 2, 'elements': [{'id': 'sq', 'type': 'line', 'x1': '=t'}], "
      "'timeline': {'set': {'sq.x1': 3}}}", KN_EINVAL, "/timeline/set/sq.x1",
      "computed by an expression" },
    { EL("{'type': 'line', 'x1': '12'}"), KN_EINVAL, "/elements/0/x1", "got a string" },
    { EL("{'type': 'line', 'scale': [1, 2, 3]}"), KN_EINVAL, "/elements/0/scale",
      "number or [sx, sy]" },
    { EL("{'type': 'line', 'scale': '=2*'}"), KN_EINVAL, "/elements/0/scale", "column" },
    { EL("{'type': 'line', 'origin': '=2'}"), KN_EINVAL, "/elements/0/origin", "[x, y]" },
    { EL("{'type': 'line', 'origin': [1]}"), KN_EINVAL, "/elements/0/origin", "[x, y]" },
    { EL("{'type': 'line', 'dash': [0, 0]}"), KN_EINVAL, "/elements/0/dash", "all 0" },
    { EL("{'type': 'line', 'dash': [1, -1]}"), KN_EINVAL, "/elements/0/dash/1", ">= 0" },
    { EL("{'type': 'line', 'line_cap': 'flat'}"), KN_EINVAL, "/elements/0/line_cap",
      "expected one of butt, round, square, got \"flat\"" },
    { EL("{'type': 'text', 'text': 'f={f:.3f}'}"), KN_EINVAL, "/elements/0/text",
      "unknown name \"f\"" },
    { EL("{'type': 'text', 'size': 0}"), KN_EINVAL, "/elements/0/size", "> 0" },
    { EL("{'type': 'text', 'font': ''}"), KN_EINVAL, "/elements/0/font", "font name" },
    { EL("{'type': 'text', 'baseline': 'hanging'}"), KN_EINVAL, "/elements/0/baseline",
      "top, middle, alphabetic, bottom" },
    { EL("{'type': 'polyline', 'points': [[0, 0], [1]]}"), KN_EINVAL, "/elements/0/points/1",
      "a point [x, y]" },
    { EL("{'type': 'polyline', 'points': {'x': [0, 1], 'y': [0]}}"), KN_EINVAL,
      "/elements/0/points/y", "same length" },
    { EL("{'type': 'polyline', 'points': {'x': [0, 1]}}"), KN_EINVAL, "/elements/0/points/y",
      "missing field" },
    { EL("{'type': 'polyline', 'points': {'x': [0], 'y': [1], 'z': [2]}}"), KN_EINVAL,
      "/elements/0/points/z", "unknown field" },
    { EL("{'type': 'polyline', 'points': {'x': [0, '=i'], 'y': [1, 2]}}"), KN_EINVAL,
      "/elements/0/points/x/1", "expressions" },
    { EL("{'type': 'polygon', 'points': {'linspace': [0, 1, 10]}}"), KN_EINVAL,
      "/elements/0/points", "linspace" },
    { EL("{'type': 'group', 'children': 3}"), KN_EINVAL, "/elements/0/children", "array" },

    /* timeline */
    { TL("{'wait': 1, 'ease': 'linear'}"), KN_EINVAL, "/timeline/ease",
      "unknown field \"ease\" (allowed: tween, set, wait, sequence, parallel, crop" },
    { TL("{'sequence': [{'wait': 1}, {'set': {}, 'colour': 1}]}"), KN_EINVAL,
      "/timeline/sequence/1/colour", "unknown field" },
    { TL("[{'wait': 1}]"), KN_EINVAL, "/timeline", "expected a scene object" },
    { TL("{'repeat': 2}"), KN_EINVAL, "/timeline", "needs one of tween, set, wait" },
    { TL("{'wait': 1, 'tween': {}}"), KN_EINVAL, "/timeline/tween", "exactly one" },
    { TL("{'tween': {'nope.x': 1}, 'duration': 1}"), KN_EINVAL, "/timeline/tween/nope.x",
      "unknown target \"nope.x\": no element has id \"nope\"" },
    { TL("{'tween': {'sq.r': 1}, 'duration': 1}"), KN_EINVAL, "/timeline/tween/sq.r",
      "a rect has no property \"r\"" },
    { TL("{'sequence': [{'wait': 1}, {'set': {'speed': 1}}]}"), KN_EINVAL,
      "/timeline/sequence/1/set/speed", "unknown target \"speed\"" },
    { TL("{'tween': {'sq.origin': [1, 1]}, 'duration': 1}"), KN_EINVAL,
      "/timeline/tween/sq.origin", "needs a start value" },
    { TL("{'tween': {'sq.x': 'abc'}, 'duration': 1}"), KN_EINVAL, "/timeline/tween/sq.x",
      "expected a number, got a string" },
    { TL("{'tween': {'sq.x': [0, true]}, 'duration': 1}"), KN_EINVAL,
      "/timeline/tween/sq.x/1", "got a boolean" },
    { TL("{'tween': {'sq.x': [0, 1, 2]}, 'duration': 1}"), KN_EINVAL, "/timeline/tween/sq.x",
      "got an array" },
    { TL("{'tween': {'sq.x': '=tt'}, 'duration': 1}"), KN_EINVAL, "/timeline/tween/sq.x",
      "\"tt\"" },
    { TL("{'tween': {'sq.x': [0, '=t*']}, 'duration': 1}"), KN_EINVAL, "/timeline/tween/sq.x/1",
      "column" },
    { TL("{'set': {'sq.opacity': 2}}"), KN_EINVAL, "/timeline/set/sq.opacity", "0 to 1" },
    { TL("{'set': {'sq.visible': 'yes'}}"), KN_EINVAL, "/timeline/set/sq.visible",
      "true or false" },
    { TL("{'set': {'sq.line_cap': 'flat'}}"), KN_EINVAL, "/timeline/set/sq.line_cap",
      "butt, round, square" },
    { TL("{'set': {'a': '#fff'}}"), KN_EINVAL, "/timeline/set/a", "expected a number" },
    { TL("{'tween': {'sq.dash': [1, 2, 3]}, 'duration': 1}"), KN_EINVAL,
      "/timeline/tween/sq.dash", "must keep their length" },
    { TL("{'tween': {'sq.dash': [[1, 2], [1, 2, 3]]}, 'duration': 1}"), KN_EINVAL,
      "/timeline/tween/sq.dash/1", "must keep their length" },
    { TL("{'sequence': [{'set': {'sq.dash': [1]}}, {'tween': {'sq.dash': [5, 5]},"
         " 'duration': 1}]}"), KN_EINVAL, "/timeline/sequence/0/set/sq.dash",
      "must keep their length" },
    { TL("{'wait': 2, 'crop': [1, 3]}"), KN_EINVAL, "/timeline/crop",
      "crop [1, 3] is out of range: need 0 <= a < b <= 2" },
    { TL("{'wait': 2, 'crop': [1, 1]}"), KN_EINVAL, "/timeline/crop", "out of range" },
    { TL("{'wait': 2, 'crop': [-1, 1]}"), KN_EINVAL, "/timeline/crop", "out of range" },
    { TL("{'set': {'a': 2}, 'crop': [0, 1]}"), KN_EINVAL, "/timeline/crop",
      "cannot crop a scene of length 0" },
    { TL("{'wait': 2, 'repeat': 0}"), KN_EINVAL, "/timeline/repeat", "integer from 1" },
    { TL("{'wait': 2, 'repeat': 1.5}"), KN_EINVAL, "/timeline/repeat", "got 1.5" },
    { TL("{'wait': 2, 'speed': 0}"), KN_EINVAL, "/timeline/speed", "> 0" },
    { TL("{'wait': 2, 'reverse': 1}"), KN_EINVAL, "/timeline/reverse", "true or false" },
    { TL("{'wait': -1}"), KN_EINVAL, "/timeline/wait", "got -1" },
    { TL("{'wait': 1, 'duration': 2}"), KN_EINVAL, "/timeline/duration",
      "a wait takes no \"duration\"" },
    { TL("{'tween': {'a': 2}}"), KN_EINVAL, "/timeline/duration",
      "missing field \"duration\"" },
    { TL("{'tween': {'a': 2}, 'duration': -1}"), KN_EINVAL, "/timeline/duration", "got -1" },
    { TL("{'sequence': [{'set': {'a': 2}}], 'duration': 2}"), KN_EINVAL, "/timeline/duration",
      "cannot stretch a sequence of length 0" },
    { TL("{'parallel': [{'wait': 1}], 'duration': 2, 'speed': 2}"), KN_EINVAL,
      "/timeline/duration", "not both" },
    { TL("{'parallel': [{'wait': 1}], 'duration': 0}"), KN_EINVAL, "/timeline/duration",
      "> 0" },
    { TL("{'sequence': {'wait': 1}}"), KN_EINVAL, "/timeline/sequence", "array of scenes" },
    { TL("{'tween': [1], 'duration': 1}"), KN_EINVAL, "/timeline/tween", "expected an object" },
    { TL("{'wait': 1, 'easing': 'bogus'}"), KN_EINVAL, "/timeline/easing", NULL },
    { TL("{'wait': 1, 'easing': {'amplitude': 2}}"), KN_EINVAL, "/timeline/easing/name",
      "missing field \"name\"" },
    { TL("{'wait': 1, 'easing': {'name': 'linear', 'period': 2}}"), KN_EINVAL,
      "/timeline/easing/period", NULL },
    { TL("{'wait': 1, 'easing': {'name': 'easeOutElastic', 'period': '=1'}}"), KN_EINVAL,
      "/timeline/easing/period", "expressions" },
    { TL("{'wait': 1e300, 'speed': 1e-300}"), KN_EINVAL, "/timeline/wait", "got 1e+300" },
    { TL("{'wait': 1e8, 'repeat': 100}"), KN_EINVAL, "/timeline", "more than the 1e+09 s" },

    /* frames */
    { FR("[{'set': {'a': 1}}, {'index': 0, 'set': {'a': 2}}]"), KN_EINVAL,
      "/frames/1/index", "frame 0 has two entries" },
    { FR("[{'index': 3, 'set': {}}, {'set': {}}, {'set': {}}, {'set': {}}]"), KN_EINVAL,
      "/frames/3", "frame 3 has two entries" },
    { FR("[{'index': -1, 'set': {}}]"), KN_EINVAL, "/frames/0/index", "negative" },
    { FR("[{'index': 1.5, 'set': {}}]"), KN_EINVAL, "/frames/0/index", "integer" },
    { FR("[{'set': {}}, {'index': 60, 'set': {}}]"), KN_EINVAL, "/frames/1/index",
      "frame 60 is past the end: the video has 60 frames" },
    { HEAD "'duration': 0.1, 'frames': [{'set': {}}, {'set': {}}, {'set': {}}, {'set': {}}]}",
      KN_EINVAL, "/frames/3", "past the end" },
    { HEAD "'vars': {'a': 0}, 'frames': [{'index': 0, 'set': {}}, {'index': 2, 'set': {}}]}",
      KN_EINVAL, "/frames", "frame 1 has no entry" },
    { HEAD "'frames': [{'index': 200000, 'set': {}}]}", KN_EINVAL, "/frames",
      "more than the limit" },
    { FR("[{'set': {'a': 1}, 'when': 2}]"), KN_EINVAL, "/frames/0/when", "unknown field" },
    { FR("[{'index': 2}]"), KN_EINVAL, "/frames/0/set", "missing field \"set\"" },
    { FR("[{'set': {'b': 1}}]"), KN_EINVAL, "/frames/0/set/b", "unknown target" },
    { FR("[{'set': {'a': 'x'}}]"), KN_EINVAL, "/frames/0/set/a", "expected a number" },
    { FR("{'set': {}}"), KN_EINVAL, "/frames", "expected an array" },
    { FR("[3]"), KN_EINVAL, "/frames/0", "got a number" },

    /* output */
    { OUT("{'quality': 20, 'bitrate': 4000}"), KN_EINVAL, "/output/bitrate",
      "give either \"quality\" or \"bitrate\", not both" },
    { OUT("{'encoder': 'cpu', 'preset': 'p3'}"), KN_EINVAL, "/output/preset", "p3" },
    { OUT("{'encoder': 'gpu', 'preset': 'slow'}"), KN_EINVAL, "/output/preset", "slow" },
    { OUT("{'preset': 'warp'}"), KN_EINVAL, "/output/preset", "warp" },
    { OUT("{'format': 'webm', 'codec': 'h264'}"), KN_EINVAL, "/output/codec", "webm" },
    /* Spellings the vocabulary does not know, refused at the JSON edge. */
    { OUT("{'format': 'mov'}"), KN_EINVAL, "/output/format", "unknown format \"mov\" (allowed: mp4, webm, gif)" },
    { OUT("{'format': ''}"), KN_EINVAL, "/output/format", "unknown format" },
    { OUT("{'encoder': 'tpu'}"), KN_EINVAL, "/output/encoder", "unknown encoder \"tpu\" (allowed: auto, gpu, cpu)" },
    { OUT("{'codec': 'av1'}"), KN_EINVAL, "/output/codec", "codec \"av1\" is not supported in mp4" },
    { OUT("{'format': 'webm', 'codec': 'theora'}"), KN_EINVAL, "/output/codec", "use \"vp9\"" },
    { OUT("{'format': 'webm', 'encoder': 'gpu'}"), KN_EINVAL, "/output/encoder", "VP9" },
    { OUT("{'format': 'webm', 'preset': 'p4'}"), KN_EINVAL, "/output/preset", "p4" },
    { OUT("{'format': 'gif', 'codec': 'h264'}"), KN_EINVAL, "/output/codec", "gif" },
    { OUT("{'format': 'gif', 'encoder': 'gpu'}"), KN_EINVAL, "/output/encoder", "gif" },
    { OUT("{'format': 'gif', 'preset': 'fast'}"), KN_EINVAL, "/output/preset", "no preset" },
    { "{'width': 640, 'height': 360, 'fps': 120, 'duration': 1, 'output': {'format': 'gif'}}",
      KN_EINVAL, "/fps", "centiseconds" },
    { OUT("{'format': 'avi'}"), KN_EINVAL, "/output/format", "unknown format" },
    { OUT("{'codec': 'hevc', 'format': 'webm'}"), KN_EINVAL, "/output/codec", "hevc" },
    { OUT("{'codec': 'vp9'}"), KN_EINVAL, "/output/codec", "webm" },
    { OUT("{'encoder': 'nvenc'}"), KN_EINVAL, "/output/encoder", "auto, gpu, cpu" },
    { OUT("{'quality': 52}"), KN_EINVAL, "/output/quality", "from 0 to 51" },
    { OUT("{'quality': 20.5}"), KN_EINVAL, "/output/quality", "integer" },
    { OUT("{'bitrate': 0}"), KN_EINVAL, "/output/bitrate", "got 0" },
    { OUT("{'keyframe_interval': 0}"), KN_EINVAL, "/output/keyframe_interval", "> 0" },
    { OUT("{'crf': 20}"), KN_EINVAL, "/output/crf", "unknown field \"crf\"" },
    { OUT("{'preset': 5}"), KN_EINVAL, "/output/preset", "expected a string" },
    { OUT("'mp4'"), KN_EINVAL, "/output", "expected an object" },

    /* JSON pointer escaping of keys with '/' and '~' */
    { HEAD "'duration': 1, 'a/b~c': 1}", KN_EINVAL, "/a~1b~0c", "unknown field" },
    { HEAD "'duration': 1, 'elements': [{'type': 'line', 'id': 'a/b~c'}],"
      " 'timeline': {'set': {'a/b~c.x1': 'x'}}}", KN_EINVAL, "/timeline/set/a~1b~0c.x1",
      "expected a number" },
    { HEAD "'duration': 1, 'timeline': {'set': {'~/.x': 1}}}", KN_EINVAL,
      "/timeline/set/~0~1.x", "unknown target" },
};

static void test_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_case *c = &BAD[i];
        kn_err err = tu_doc_fail_lim(c->doc, NULL, c->code);
        if (strcmp(err.path, c->path) != 0 || (c->phrase && !strstr(err.msg, c->phrase))) {
            print_error("case %zu: %s\n  got path \"%s\" msg \"%s\"\n  want path \"%s\" "
                        "phrase \"%s\"\n", i, c->doc, err.path, err.msg, c->path,
                        c->phrase ? c->phrase : "");
            fail();
        }
    }
}

static void test_invalid_json_position(void **state)
{
    (void)state;
    kn_err err = tu_doc_fail_lim("{'width': 640,\n 'height': }", NULL, KN_EJSON);
    assert_true(strncmp(err.msg, "invalid JSON:", 13) == 0);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_non_null(strstr(err.msg, "column"));
    assert_string_equal(err.path, "");
}

static void test_null_err_and_args(void **state)
{
    (void)state;
    kn_doc *d = NULL;
    assert_int_equal(kn_doc_parse("{", 1, NULL, &d, NULL), KN_EJSON);
    assert_null(d);
    assert_int_equal(kn_doc_parse("{}", 2, NULL, NULL, NULL), KN_EINVAL);
    const char *ok = "{\"width\": 16, \"height\": 16, \"fps\": 1, \"duration\": 1}";
    assert_int_equal(kn_doc_parse(ok, strlen(ok), NULL, &d, NULL), KN_OK);
    assert_int_equal(d->n_frames, 1);
    kn_doc_destroy(d);
    /* not NUL-terminated: only len bytes are read */
    char buf[64];
    memcpy(buf, ok, strlen(ok));
    memset(buf + strlen(ok), '}', sizeof buf - strlen(ok));
    d = NULL;
    assert_int_equal(kn_doc_parse(buf, strlen(ok), NULL, &d, NULL), KN_OK);
    kn_doc_destroy(d);
}



/* ---- help for newcomers --------------------------------------------------- */

/* Parses src expecting KN_EINVAL at path with exactly the message msg. */
static void expect_msg(const char *src, const char *path, const char *msg)
{
    kn_err err = tu_doc_fail_lim(src, NULL, KN_EINVAL);
    if (strcmp(err.path, path) != 0 || strcmp(err.msg, msg) != 0) {
        print_error("document %s\n  got  \"%s\": %s\n  want \"%s\": %s\n", src, err.path,
                    err.msg, path, msg);
        fail();
    }
}

/* A name one or two slips away from an allowed one is suggested; a far-off
 * one, or one too short to tell, is not. */
static void test_did_you_mean(void **state)
{
    (void)state;
    expect_msg(HEAD "'duraton': 2}", "/duraton",
               "unknown field \"duraton\": did you mean \"duration\"? (allowed: width, height, "
               "fps, duration, background, vars, elements, timeline, frames, output, metadata)");
    expect_msg(HEAD "'duration': 2, 'colour': 'red'}", "/colour",
               "unknown field \"colour\" (allowed: width, height, fps, duration, background, "
               "vars, elements, timeline, frames, output, metadata)");
    expect_msg(OUT("{'keyframe_intreval': 2}"), "/output/keyframe_intreval",
               "unknown field \"keyframe_intreval\": did you mean \"keyframe_interval\"? "
               "(allowed: format, codec, encoder, quality, preset, bitrate, keyframe_interval)");
    expect_msg(TL("{'wait': 1, 'repaet': 2}"), "/timeline/repaet",
               "unknown field \"repaet\": did you mean \"repeat\"? (allowed: tween, set, wait, "
               "sequence, parallel, crop, reverse, easing, speed, duration, repeat)");

    /* element fields, from what the element's type takes */
    expect_msg(EL("{'type': 'circle', 'r': 1, 'opacty': 0.5}"), "/elements/0/opacty",
               "unknown field \"opacty\" for a circle: did you mean \"opacity\"? (allowed: id, "
               "type, opacity, visible, rotation, scale, origin, fill, stroke, stroke_width, "
               "dash, line_cap, line_join, cx, cy, r)");
    expect_msg(EL("{'type': 'rect', 'width': 1, 'heigth': 1}"), "/elements/0/heigth",
               "unknown field \"heigth\" for a rect: did you mean \"height\"? (allowed: id, "
               "type, opacity, visible, rotation, scale, origin, fill, stroke, stroke_width, "
               "dash, line_cap, line_join, x, y, width, height, radius)");
    expect_msg(EL("{'type': 'group', 'childern': []}"), "/elements/0/childern",
               "unknown field \"childern\" for a group: did you mean \"children\"? (allowed: id, "
               "type, opacity, visible, rotation, scale, origin, x, y, children)");
    expect_msg(EL("{'type': 'rect', 'width': 1, 'height': 1, 'zorder': 1}"),
               "/elements/0/zorder",
               "unknown field \"zorder\" for a rect (allowed: id, type, opacity, visible, "
               "rotation, scale, origin, fill, stroke, stroke_width, dash, line_cap, line_join, "
               "x, y, width, height, radius)");
    /* "x3" is one edit from x1, x2 and y1 alike: too short to guess */
    kn_err err = tu_doc_fail_lim(EL("{'type': 'line', 'x3': 1}"), NULL, KN_EINVAL);
    assert_string_equal(err.path, "/elements/0/x3");
    assert_null(strstr(err.msg, "did you mean"));

    /* types */
    expect_msg(EL("{'type': 'cirlce', 'r': 1}"), "/elements/0/type",
               "unknown element type \"cirlce\": did you mean \"circle\"? (allowed: rect, circle, "
               "ellipse, line, polyline, polygon, text, group, path, composition, image, plot)");
    expect_msg(EL("{'type': 'square'}"), "/elements/0/type",
               "unknown element type \"square\" (allowed: rect, circle, ellipse, line, polyline, "
               "polygon, text, group, path, composition, image, plot)");
    expect_msg(EL("{'type': 'plot', 'width': 100, 'height': 100, 'series': [{'type': "
                  "'scater', 'y': [1, 2]}]}"), "/elements/0/series/0/type",
               "unknown series type \"scater\": did you mean \"scatter\"? (allowed: line, "
               "scatter, bar, area, step, heatmap)");

    /* targets: a property, an id, a var, a series property */
    expect_msg(TL("{'tween': {'sq.widht': 5}, 'duration': 1}"), "/timeline/tween/sq.widht",
               "unknown target \"sq.widht\": a rect has no property \"widht\"; did you mean "
               "\"sq.width\"? (it has: opacity, visible, rotation, scale, origin, fill, stroke, "
               "stroke_width, dash, line_cap, line_join, x, y, width, height, radius)");
    expect_msg(TL("{'set': {'sqq.x': 1}}"), "/timeline/set/sqq.x",
               "unknown target \"sqq.x\": no element has id \"sqq\"; did you mean \"sq.x\"?");
    expect_msg(HEAD "'duration': 1, 'vars': {'speed': 1}, 'timeline': {'set': {'sped': 2}}}",
               "/timeline/set/sped",
               "unknown target \"sped\": no var has that name; did you mean \"speed\"? (a target "
               "is \"<element id>.<property>\" or a var name)");
    expect_msg(TL("{'set': {'nope.x': 1}}"), "/timeline/set/nope.x",
               "unknown target \"nope.x\": no element has id \"nope\"");
    expect_msg(HEAD "'duration': 1, 'elements': [{'type': 'plot', 'width': 100, 'height': 100, "
               "'series': [{'id': 'wave', 'type': 'line', 'y': [1, 2]}]}], "
               "'timeline': {'set': {'wave.colour': 'red'}}}", "/timeline/set/wave.colour",
               "unknown target \"wave.colour\": a plot series has no property \"colour\"; did "
               "you mean \"wave.color\"? (it has: x, y, color, width)");
}

/* A length that would be fine read as milliseconds gets a hint, but only on
 * a document refused anyway. */
static void test_milliseconds_hint(void **state)
{
    (void)state;
    expect_msg(HEAD "'duration': 5000}", "/duration",
               "the video would have 150000 frames, more than the limit of 100000 (durations "
               "are in seconds: did you mean 5?)");
    expect_msg(HEAD "'duration': 4000}", "/duration",
               "the video would have 120000 frames, more than the limit of 100000 (durations "
               "are in seconds: did you mean 4?)");
    expect_msg("{'width': 7680, 'height': 4320, 'fps': 30, 'duration': 2500}", "/duration",
               "7680x4320 x 75000 frames is more than the limit of 74649600000 pixels (width x "
               "height x frames) (durations are in seconds: did you mean 2.5?)");
    /* not a round number, or too short to be milliseconds of a video */
    expect_msg(HEAD "'duration': 3601}", "/duration",
               "the video would have 108030 frames, more than the limit of 100000");
    expect_msg("{'width': 7680, 'height': 4320, 'fps': 30, 'duration': 100}", "/duration",
               "7680x4320 x 3000 frames is more than the limit of 74649600000 pixels (width x "
               "height x frames)");
    /* the timeline: its longest millisecond-like scene is named */
    expect_msg(HEAD "'vars': {'a': 0}, 'timeline': {'sequence': [{'wait': 1000}, "
               "{'tween': {'a': 1}, 'duration': 3000}, {'wait': 1}]}}", "/timeline",
               "the video would have 120030 frames, more than the limit of 100000 (durations "
               "are in seconds: did you mean 3 at /timeline/sequence/1/duration?)");
    expect_msg(HEAD "'vars': {'a': 0}, 'timeline': {'tween': {'a': 1}, 'duration': 3601}}",
               "/timeline", "the video would have 108030 frames, more than the limit of 100000");
    /* keyframe_interval over its maximum */
    expect_msg(OUT("{'keyframe_interval': 5000}"), "/output/keyframe_interval",
               "expected a number > 0 and <= 3600, got 5000 (durations are in seconds: did you "
               "mean 5?)");
    expect_msg(OUT("{'keyframe_interval': 3601}"), "/output/keyframe_interval",
               "expected a number > 0 and <= 3600, got 3601");
    /* valid documents are never touched: 5000 ms read as 5000 s at 1 fps */
    kn_doc *d = tu_doc_ok("{'width': 64, 'height': 64, 'fps': 1, 'duration': 5000}");
    assert_int_equal(d->n_frames, 5000);
    kn_doc_destroy(d);
}


/* Quoted keys are cut to a byte count and long pointers truncated: what
 * comes back is still valid UTF-8 (jansson refuses anything else). */
/* ---- what drawing texts costs ------------------------------------------ */







static void test_utf8_truncation(void **state)
{
    (void)state;
    char key[3 * 200 + 1];
    for (int i = 0; i < 200; i++) memcpy(key + 3 * i, "\xe2\x82\xac", 3);   /* U+20AC */
    key[600] = '\0';
    char doc[2048];
    snprintf(doc, sizeof doc, HEAD "'duration': 1, '%s': 1}", key);
    kn_err err = tu_doc_fail_lim(doc, NULL, KN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown field"));
    json_t *m = json_string(err.msg), *p = json_string(err.path);
    assert_non_null(m);
    assert_non_null(p);
    assert_true(strlen(err.path) > 200);
    assert_int_equal((strlen(err.path) - 1) % 3, 0);
    json_decref(m);
    json_decref(p);
}

/* Every seed of the fuzz corpus is a valid document. */
static void test_corpus_valid(void **state)
{
    (void)state;
    const char *dir = tu_src("tests/fuzz/corpus");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *dp = opendir(dirbuf);
    assert_non_null(dp);
    int seen = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 5, ".json")) continue;
        char path[4096 + 512];
        snprintf(path, sizeof path, "%s/%s", dirbuf, de->d_name);
        size_t len = 0;
        char *text = tu_read_file(path, &len);
        assert_non_null(text);
        kn_doc *d = NULL;
        kn_err err;
        int rc = kn_doc_parse(text, len, NULL, &d, &err);
        if (rc) print_error("%s: \"%s\": %s\n", de->d_name, err.path, err.msg);
        assert_int_equal(rc, KN_OK);
        assert_true(d->n_frames >= 1);
        kn_doc_destroy(d);
        free(text);
        seen++;
    }
    closedir(dp);
    assert_true(seen >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_model),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_fps),
        cmocka_unit_test(test_ntsc_frames),
        cmocka_unit_test(test_length_sources),
        cmocka_unit_test(test_timeline_forms),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_invalid_json_position),
        cmocka_unit_test(test_null_err_and_args),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_milliseconds_hint),
        cmocka_unit_test(test_utf8_truncation),
        cmocka_unit_test(test_corpus_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
