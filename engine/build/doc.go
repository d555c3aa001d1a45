// Package build is Docker's classic builder, step by step, as the course notes
// tell it: every Dockerfile instruction is a step; FROM takes the base image;
// RUN creates an intermediate container from the previous step's image, runs
// the command in it, snapshots its filesystem into a layer and saves a new
// image; metadata instructions (CMD, ENV, LABEL, ...) create an intermediate
// container that never starts and save an image with an empty layer; COPY and
// ADD write a new layer. Each new image is forwarded to the next step, and the
// last one is the result.
//
// Each instruction has a short dispatcher (dispatch.go, copy.go, meta.go;
// FROM in stage.go) that says what its step is; one helper, commitStep
// (step.go), does the notes' sequence for all of them: probe the cache,
// create the intermediate container, run it (or write into it, or
// neither), commit its snapshot as the step's image, remove it.
//
// The probe is keyed on the parent image and the instruction's marker
// (Docker's run config Cmd: "/bin/sh -c apk add --update redis",
// `/bin/sh -c #(nop)  CMD ["redis-server"]`, "/bin/sh -c #(nop) COPY
// file:<sum> in /app "), made in package cache (key.go); cache.Decide judges
// it. A hit reuses the image built before; the first miss busts the cache for
// the rest of the stage. Every probe records why it hit or missed, in plain
// words, as a trace event.
//
// The builder does not run containers itself: a Backend (the engine) does,
// and a Backend that runs nothing gives the what-if planner (Options.Explain).
package build
