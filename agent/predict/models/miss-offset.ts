// What the two models calibrated by an offset on their p90 share (the engine's heads,
// models/engine.ts, and horizon-peak's, models/horizon-peak.ts): the offset steps up after a
// miss and down a little after a hit, in units of the p90's recent error, a miss counted as soon
// as a value passes a pending peak's p90. The figures below are the engine's, where they were
// measured.

/** The share of outcomes above the p90 the calibration aims at: a miss steps up by 1 - this, a hit down by this. */
export const MISS_AIM = 0.1;
/**
 * A head's calibration step is the engine's over steps^this (see Head): an h-step target's misses
 * come in runs. A value h steps ahead is known only h steps later, and the h forecasts made
 * meanwhile mostly miss together: at the full step one burst lifted the offset h times over (the
 * recorded 60 s value targets 4-12% worse). Over sqrt(h) they were 1-2% better still, but missed
 * 13-14% of the time.
 */
export const GAIN_POWER = 0.25;
/**
 * Misses counted before their windows close, at most this many a slot, the oldest first (the rest
 * as their windows close or at a later slot). A spike passes every pending window's p90 at once:
 * all counted at once, they lifted the offset by h steps in a slot, and a young head's by as much
 * at every spike: from a noisy steady start (0.8 +- 0.3 cores, a spike to 1.3 one tick in 20) the
 * 60 s peak's path crossed a 2-core limit in 543 ticks of 18,000, against 367 counted at the
 * close (396 at 4 a slot, 420 at 8). At 1 or 2 a slot a phased workload's 60 s peaks still missed
 * 14-15% of the time.
 */
export const EARLY_MISSES_PER_SLOT = 4;
/**
 * The offset's unit is at least this share of the level. A near-constant series (Google's
 * job-382 memory, errors about 1e-4 of its mean) otherwise calibrates on noise: its p90 sat on
 * the value and its 12-step under-rates read 15-18%. A miss then moves the p90 by at least
 * gain x 0.003, about a ten-thousandth of the level: nothing a user sees.
 */
export const OFFSET_UNIT_FLOOR = 0.003;
/**
 * Slots back a climb's calibration is taken back to where the climb ends (settled, faded or
 * stopped on a level): its flag rises after four rises in a row (DampedTrend), and the misses of
 * those are the climb's too.
 */
export const CLIMB_BACK = 8;
/** Slots off a climb after which a climb read again is a new one (DampedTrend's noisy level is given up as long after a drop). */
export const CLIMB_EPISODE_GAP = 24;
