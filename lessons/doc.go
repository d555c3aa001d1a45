// Package lessons runs the course's lessons: one per section of the notes
// (../shared/notes/building-custom-images.md), each a Markdown file with a
// few directives (docs/lessons.md) that writes a Dockerfile, builds, runs
// and commits with the real engine, and narrates the trace as it streams,
// pausing where the notes make a point.
//
// Every lesson ships a recording made by the real engine (recordings/*.jsonl,
// `make lessons-record`). Without root, off Linux, or when asked, a lesson
// replays its recording with the same narration; a replay shows only what
// was recorded. The what-if planner applies the classic builder's cache
// rules to a recording to say which steps of an edited Dockerfile would be
// cached. The narration and the views (classic, annotated, tree, explain,
// HTML) are package trace/view's; a lesson adds its annotations and pauses.
//
// The package talks to the engine only through Backend, so everything but
// live mode works, and is tested, without root or a store; lessons/live
// implements Backend on the engine.
package lessons
