package live

import "github.com/berthkit/berth/engine"

// ModeLine is the line a lesson starts with to say which engine mode it
// uses (root, rootless or replay) and why; replay is true when the lesson
// replays a recording.
func ModeLine(replay bool) string {
	mode, why := engine.Mode()
	if replay {
		if mode == engine.ModeReplay {
			return "Mode: replay (" + why + ")."
		}
		return "Mode: replay."
	}
	return "Mode: " + mode + " (" + why + ")."
}
