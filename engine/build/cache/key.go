package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// The cache key is the marker Docker's classic builder puts in the
// intermediate container's Cmd and in the image history's created_by: a
// step built on the same parent with the same marker is the same step.
// Every key the builder uses is made here.

// RunCmd is a RUN's command: the exec form as written, or the shell form
// run by the stage's shell.
func RunCmd(shell []string, json bool, args []string, script string) []string {
	if json {
		return append([]string{}, args...)
	}
	return append(append([]string{}, shell...), script)
}

// RunKey is a RUN's key: its command, prefixed with the build args it sees
// ("|2 A=1 B=2 /bin/sh -c make"), as the classic builder's run config Cmd
// (dispatchers.go, dispatchRun: prependEnvOnCmd), so a changed --build-arg
// misses.
func RunKey(cmd, argEnv []string) string {
	if len(argEnv) == 0 {
		return strings.Join(cmd, " ")
	}
	prefix := append([]string{fmt.Sprintf("|%d", len(argEnv))}, argEnv...)
	return strings.Join(append(prefix, cmd...), " ")
}

// MetadataCmd is the never-started container's Cmd of a metadata step
// (CMD, ENV, LABEL, ...): the shell, "#(nop) " and the change as its own
// argument, so its key reads `/bin/sh -c #(nop)  CMD ["redis-server"]`
// with two spaces (internals.go, commit: withCmdComment).
func MetadataCmd(shell []string, change string) []string {
	return append(append([]string{}, shell...), "#(nop) ", change)
}

// WorkdirCmd is WORKDIR's Cmd: one "#(nop) WORKDIR /app" argument, one
// space after "#(nop)" (internals.go, withCmdCommentString).
func WorkdirCmd(shell []string, change string) []string {
	return append(append([]string{}, shell...), "#(nop) "+change)
}

// CopyCmd is a COPY or ADD's Cmd (internals.go, performCopy,
// getSourceHashFromInfos): one source's "file:<sha>" or "dir:<sha>", or
// "multi:<sha>" of them all, in a single "#(nop) " argument with a
// trailing space. flags is "--chown=1:1 --chmod=644 " or "".
func CopyCmd(shell []string, keyword, flags string, parts []string, dest string) []string {
	src := parts[0]
	if len(parts) > 1 {
		sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
		src = "multi:" + hex.EncodeToString(sum[:])
	}
	return append(append([]string{}, shell...), fmt.Sprintf("#(nop) %s %s%s in %s ", keyword, flags, src, dest))
}

// CopyFromParts are the key parts of COPY --from: the source image's ID
// and the paths, known without mounting the image, so --explain can answer
// for it. (The history names the content checksums instead.)
func CopyFromParts(imageID string, paths []string) []string {
	parts := []string{"image:" + imageID}
	for _, p := range paths {
		parts = append(parts, "from:"+p)
	}
	return parts
}

// Key is a marker as the cache stores it: the Cmd's words joined by spaces.
func Key(cmd []string) string { return strings.Join(cmd, " ") }

// Group is the coarser key a COPY or ADD's entry is also found under: its
// key without the checksums ("/bin/sh -c #(nop) COPY in /app"), so a
// changed source finds its last build. Steps without sources have none.
func Group(key string, sources map[string]string) string {
	if sources == nil {
		return ""
	}
	return copyGroup(key)
}

func copyGroup(key string) string {
	var out []string
	for _, f := range strings.Fields(key) {
		if strings.HasPrefix(f, "file:") || strings.HasPrefix(f, "dir:") || strings.HasPrefix(f, "multi:") {
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}
