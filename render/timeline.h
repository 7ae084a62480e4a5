/*
 * render/timeline.h - evaluating a document at one frame (spec sections 5, 6).
 *
 * A kn_state is the value of every slot of one doc at one instant. Evaluating
 * frame i resets the state to doc->init, applies the timeline at
 * t = i * fps_den / fps_num, then applies the frame's per-frame entry. The
 * result depends only on (doc, i): no state carries over between frames, so
 * frames may be evaluated in any order.
 *
 * Ownership: a kn_state belongs to one thread; it borrows the doc (which must
 * outlive it) and owns the array buffers of its values, reused across frames
 * so steady-state evaluation does not allocate.
 */
#ifndef KN_RENDER_TIMELINE_H
#define KN_RENDER_TIMELINE_H

#include "doc/doc.h"

typedef struct kn_state kn_state;

/* New state for doc, initialised to doc->init. NULL on allocation failure. */
kn_state *kn_state_create(const kn_doc *doc);
void kn_state_destroy(kn_state *st);   /* accepts NULL */

/* Resets to doc->init. */
void kn_state_reset(kn_state *st);

/* Evaluates frame i (0 <= i < n_frames) as described above. */
void kn_state_eval_frame(kn_state *st, long frame);

/* Applies scene sc at local time t (seconds, any value: it is clamped to
 * [0, sc->length]) on top of the current state. Exposed for tests. */
void kn_timeline_apply(kn_state *st, const kn_scene *sc, double t);

/* The frame last passed to kn_state_eval_frame (0 before any). */
long kn_state_frame(const kn_state *st);

/* The current value of a slot; valid until the next call that changes st. */
const kn_value *kn_state_get(const kn_state *st, int slot);

#endif
