package build

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// createdByGolden is what Docker's classic builder writes as the history's
// created_by for one instruction, each row derived from moby's
// daemon/builder/dockerfile sources (the function named in the comment).
// Metadata instructions go through internals.go, Builder.commit, which uses
// withCmdComment: the shell, "#(nop) " and the text as two arguments, so two
// spaces after "#(nop)". WORKDIR, COPY and ADD use withCmdCommentString: one
// argument, one space. <sha> stands for a content checksum.
var createdByGolden = []struct {
	instruction string
	createdBy   string
}{
	// dispatchers.go, dispatchRun: the command line as run (shell form).
	{`RUN echo hi`, `/bin/sh -c echo hi`},
	// dispatchers.go, dispatchRun: exec form, no shell.
	{`RUN ["echo", "hi"]`, `echo hi`},
	// dispatchers.go, dispatchRun + prependEnvOnCmd: "|N" then the declared
	// build args with values, sorted, before the command.
	{"ARG B=2\nARG A=1\nRUN make", `|2 A=1 B=2 /bin/sh -c make`},
	// BuildArgs.FilterAllowed: an ARG that ENV sets is no build arg of RUN.
	{"ARG A=1\nENV A=2\nRUN make", `/bin/sh -c make`},
	// dispatchers.go, dispatchCmd: fmt.Sprintf("CMD %q", cmd).
	{`CMD ["redis-server"]`, `/bin/sh -c #(nop)  CMD ["redis-server"]`},
	{`CMD redis-server --port 1`, `/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "redis-server --port 1"]`},
	// dispatchers.go, dispatchEntrypoint: fmt.Sprintf("ENTRYPOINT %q", ...).
	{`ENTRYPOINT ["/entry.sh"]`, `/bin/sh -c #(nop)  ENTRYPOINT ["/entry.sh"]`},
	{`ENTRYPOINT exec redis-server`, `/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c" "exec redis-server"]`},
	// dispatchers.go, dispatchEnv: "ENV" + " k=v" per variable, expanded.
	{"ENV A=1\nENV B=${A}2 C=3", `/bin/sh -c #(nop)  ENV B=12 C=3`},
	{`ENV LEGACY value with spaces`, `/bin/sh -c #(nop)  ENV LEGACY=value with spaces`},
	// dispatchers.go, dispatchLabel: "LABEL" + " k=v" per label.
	{`LABEL a=1 b="two words"`, `/bin/sh -c #(nop)  LABEL a=1 b=two words`},
	// dispatchers.go, dispatchMaintainer: "MAINTAINER " + text.
	{`MAINTAINER Jane <jane@example.com>`, `/bin/sh -c #(nop)  MAINTAINER Jane <jane@example.com>`},
	// dispatchers.go, dispatchExpose: "EXPOSE " + the ports as written.
	{`EXPOSE 6379`, `/bin/sh -c #(nop)  EXPOSE 6379`},
	{`EXPOSE 80/tcp 53/udp`, `/bin/sh -c #(nop)  EXPOSE 80/tcp 53/udp`},
	// dispatchers.go, dispatchUser: fmt.Sprintf("USER %v", user).
	{`USER nobody`, `/bin/sh -c #(nop)  USER nobody`},
	// dispatchers.go, dispatchVolume: fmt.Sprintf("VOLUME %v", []string).
	{`VOLUME /data /logs`, `/bin/sh -c #(nop)  VOLUME [/data /logs]`},
	{`VOLUME ["/data"]`, `/bin/sh -c #(nop)  VOLUME [/data]`},
	// dispatchers.go, dispatchStopSignal: fmt.Sprintf("STOPSIGNAL %v", sig).
	{`STOPSIGNAL SIGTERM`, `/bin/sh -c #(nop)  STOPSIGNAL SIGTERM`},
	// dispatchers.go, dispatchArg: "ARG " + name[=default], expanded.
	{`ARG VERSION`, `/bin/sh -c #(nop)  ARG VERSION`},
	// Only RUN gets the "|N" prefix: Builder.commit never adds build args.
	{"ARG A=1\nARG V=${A}.2", `/bin/sh -c #(nop)  ARG V=1.2`},
	// dispatchers.go, dispatchOnbuild: "ONBUILD " + the trigger as written.
	{`ONBUILD RUN echo triggered`, `/bin/sh -c #(nop)  ONBUILD RUN echo triggered`},
	// dispatchers.go, dispatchShell: fmt.Sprintf("SHELL %v", shell), after
	// setting runConfig.Shell, so the marker already uses the new shell.
	{`SHELL ["/bin/bash", "-c"]`, `/bin/bash -c #(nop)  SHELL [/bin/bash -c]`},
	{"SHELL [\"/bin/bash\", \"-c\"]\nCMD run", `/bin/bash -c #(nop)  CMD ["/bin/bash" "-c" "run"]`},
	// dispatchers.go, dispatchHealthcheck: fmt.Sprintf("HEALTHCHECK %+v",
	// *container.HealthConfig).
	{`HEALTHCHECK --interval=30s CMD curl -f http://localhost/`,
		`/bin/sh -c #(nop)  HEALTHCHECK &{Test:[CMD-SHELL curl -f http://localhost/] Interval:30s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}`},
	{`HEALTHCHECK NONE`, `/bin/sh -c #(nop)  HEALTHCHECK &{Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}`},
	// dispatchers.go, dispatchWorkdir: "WORKDIR " + the cleaned absolute
	// path, withCmdCommentString (one space).
	{`WORKDIR /app`, `/bin/sh -c #(nop) WORKDIR /app`},
	{"WORKDIR /app\nWORKDIR src/..//lib", `/bin/sh -c #(nop) WORKDIR /app/lib`},
	// internals.go, performCopy: "%s %s%s in %s " (note the trailing space)
	// with getSourceHashFromInfos: "file:<sha>", "dir:<sha>", "multi:<sha>".
	{`COPY app.py /app/`, `/bin/sh -c #(nop) COPY file:<sha> in /app/ `},
	{`COPY conf /etc/conf`, `/bin/sh -c #(nop) COPY dir:<sha> in /etc/conf `},
	{`COPY app.py conf /app/`, `/bin/sh -c #(nop) COPY multi:<sha> in /app/ `},
	{`ADD conf /`, `/bin/sh -c #(nop) ADD dir:<sha> in / `},
	// internals.go, performCopy: chownComment "--chown=%s " (expanded).
	{"ARG U=1000\nCOPY --chown=${U}:0 app.py /app/", `/bin/sh -c #(nop) COPY --chown=1000:0 file:<sha> in /app/ `},
}

var shaRE = regexp.MustCompile(`(file|dir|multi):[0-9a-f]{64}`)

func TestCreatedByIsDockers(t *testing.T) {
	for _, row := range createdByGolden {
		t.Run(row.instruction, func(t *testing.T) {
			f := newFake(t)
			f.base(t, "alpine")
			dir := writeContext(t, map[string]string{
				"Dockerfile": "FROM alpine\n" + row.instruction + "\n",
				"app.py":     "print(1)\n", "conf/a.ini": "a=1\n",
			})
			res := build(t, f, dir, Options{})
			img, err := f.s.Image(res.ImageID.String())
			require.NoError(t, err)
			last := img.Config.History[len(img.Config.History)-1]
			got := shaRE.ReplaceAllString(last.CreatedBy, "$1:<sha>")
			require.Equal(t, row.createdBy, got)
			if strings.Contains(got, "#(nop)  ") {
				require.True(t, last.EmptyLayer, "metadata steps have no layer")
			}
		})
	}
}
