package trace

import (
	"encoding/json"
	"sync"
	"time"
)

// SchemaVersion is the version of the event schema written in every event's
// "v" field. Readers accept events of any version and keep fields they don't
// know; a change that alters the meaning of an existing field bumps it.
const SchemaVersion = 1

// Type names an event. The part before the dot is the subject.
type Type string

// Event types. docs/trace.md documents each one.
const (
	BuildStart      Type = "build.start"
	BuildEnd        Type = "build.end"
	StepStart       Type = "step.start"
	StepEnd         Type = "step.end"
	CacheProbe      Type = "cache.probe"
	ContainerCreate Type = "container.create"
	ContainerStart  Type = "container.start"
	ContainerExit   Type = "container.exit"
	ContainerRemove Type = "container.remove"
	ContainerPause  Type = "container.pause"
	ContainerResume Type = "container.unpause"
	Output          Type = "output"
	Snapshot        Type = "snapshot"
	Layer           Type = "layer"
	Image           Type = "image"
	Tag             Type = "tag"
	PullStart       Type = "pull.start"
	PullBlob        Type = "pull.blob"
	PullEnd         Type = "pull.end"
	PushBlob        Type = "push.blob"
	PushEnd         Type = "push.end"
	Message         Type = "message"
	// The client's side of a daemon request (berth lesson --via-daemon):
	// what it asked, what it uploaded, what it was answered.
	ClientRequest  Type = "client.request"
	ClientUpload   Type = "client.upload"
	ClientResponse Type = "client.response"
)

// Event is one thing that happened. Exactly one of the payload pointers that
// matches Type is set (Output events set Output, and so on); the others are nil.
// Fields a reader does not know are kept in Unknown and written back out, so a
// trace passes through older tools unchanged.
type Event struct {
	Version int       `json:"v"`
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Type    Type      `json:"type"`
	// Build correlates the events of one build (its ID); empty outside builds.
	Build string `json:"build,omitempty"`
	// Step is the 1-based step number the event belongs to; 0 outside steps.
	Step int `json:"step,omitempty"`

	BuildStartInfo *BuildStartInfo `json:"build_start,omitempty"`
	BuildEndInfo   *BuildEndInfo   `json:"build_end,omitempty"`
	StepInfo       *StepInfo       `json:"step_info,omitempty"`
	StepEndInfo    *StepEndInfo    `json:"step_end,omitempty"`
	Cache          *CacheInfo      `json:"cache,omitempty"`
	Container      *ContainerInfo  `json:"container,omitempty"`
	Output         *OutputInfo     `json:"output,omitempty"`
	Snapshot       *SnapshotInfo   `json:"snapshot,omitempty"`
	Layer          *LayerInfo      `json:"layer,omitempty"`
	Image          *ImageInfo      `json:"image,omitempty"`
	Tag            *TagInfo        `json:"tag,omitempty"`
	Blob           *BlobInfo       `json:"blob,omitempty"`
	Pull           *PullInfo       `json:"pull,omitempty"`
	Message        *MessageInfo    `json:"message,omitempty"`
	Client         *ClientInfo     `json:"client,omitempty"`

	// Unknown holds fields this version of the schema does not know.
	Unknown map[string]json.RawMessage `json:"-"`
}

// BuildStartInfo opens a build.
type BuildStartInfo struct {
	Context      string                     `json:"context"`       // the context path as given ("." or "-")
	Dockerfile   string                     `json:"dockerfile"`    // path of the Dockerfile inside the context
	ContextBytes int64                      `json:"context_bytes"` // bytes of context sent to the engine
	ContextFiles int                        `json:"context_files"`
	Steps        int                        `json:"steps"` // total steps (instructions, FROM included)
	Tags         []string                   `json:"tags,omitempty"`
	NoCache      bool                       `json:"no_cache,omitempty"`
	BuildArgs    map[string]string          `json:"build_args,omitempty"`
	Target       string                     `json:"target,omitempty"`
	Engine       string                     `json:"engine,omitempty"` // "berth <version>"
	Unknown      map[string]json.RawMessage `json:"-"`
}

// BuildEndInfo closes a build, successful or not.
type BuildEndInfo struct {
	Image      string                     `json:"image,omitempty"` // sha256:... of the result
	DurationMS int64                      `json:"duration_ms"`
	Error      string                     `json:"error,omitempty"` // Docker's wording for the failure
	ExitCode   int                        `json:"exit_code"`       // what the CLI exits with
	Cached     int                        `json:"cached"`          // steps served from cache
	Ran        int                        `json:"ran"`             // steps executed
	Unknown    map[string]json.RawMessage `json:"-"`
}

// StepInfo describes the instruction a step executes.
type StepInfo struct {
	Number      int    `json:"n"`
	Total       int    `json:"total"`
	Stage       int    `json:"stage"`                // 0-based stage index; -1 for an ARG before the first FROM
	StageName   string `json:"stage_name,omitempty"` // FROM ... AS name
	Instruction string `json:"instruction"`          // upper-case keyword: RUN, COPY, ...
	Original    string `json:"original"`             // the text as written ("RUN apk add --update redis")
	Line        int    `json:"line"`                 // 1-based line in the Dockerfile
	Expanded    string `json:"expanded,omitempty"`   // after variable expansion, when it differs
	// Label is how BuildKit names the step when it shows it as a vertex of
	// its own ("[builder 1/3] RUN make"): FROM of an image, RUN, COPY, ADD,
	// WORKDIR. Empty for the steps BuildKit does not show.
	Label   string                     `json:"label,omitempty"`
	Unknown map[string]json.RawMessage `json:"-"`
}

// StepEndInfo closes a step.
type StepEndInfo struct {
	Image      string                     `json:"image,omitempty"` // the image the step produced (forwarded to the next step)
	Cached     bool                       `json:"cached,omitempty"`
	DurationMS int64                      `json:"duration_ms"`
	Error      string                     `json:"error,omitempty"`
	Unknown    map[string]json.RawMessage `json:"-"`
}

// CacheInfo is one probe of the build cache: the key's parts in plain text, the
// decision, and why.
type CacheInfo struct {
	Parent    string `json:"parent"`               // the parent image ID (part one of the key)
	Key       string `json:"key"`                  // the instruction marker (part two): "/bin/sh -c apk add --update redis", "/bin/sh -c #(nop)  CMD [\"redis-server\"]", "/bin/sh -c #(nop) COPY file:<sum> in /app"
	ConfigSum string `json:"config_sum,omitempty"` // digest of the rest of the run config (env, workdir, user, ...)
	Hit       bool   `json:"hit"`
	Image     string `json:"image,omitempty"` // the image reused on a hit
	// Reason is a stable code: "hit", "no-cache", "earlier-miss",
	// "new-instruction", "instruction-changed", "source-changed",
	// "config-changed", "parent-new", "image-missing".
	Reason string `json:"reason"`
	// Explanation says the reason in plain words.
	Explanation string `json:"explanation"`
	// Previous is the marker cached for this parent that is closest to Key,
	// when the reason is a change ("instruction-changed", "source-changed").
	Previous string `json:"previous,omitempty"`
	// Files names the context files whose content changed, for COPY/ADD.
	Files   []string                   `json:"files,omitempty"`
	Unknown map[string]json.RawMessage `json:"-"`
}

// ContainerInfo describes a container at a lifecycle event.
type ContainerInfo struct {
	ID         string   `json:"id"`
	Name       string   `json:"name,omitempty"`
	Image      string   `json:"image,omitempty"`   // image ID the container was created from
	Purpose    string   `json:"purpose,omitempty"` // "build" (intermediate), "run", "commit"
	Cmd        []string `json:"cmd,omitempty"`
	Started    bool     `json:"started,omitempty"` // container.create: false for metadata steps, whose container never starts
	Pid        int      `json:"pid,omitempty"`
	ExitCode   *int     `json:"exit_code,omitempty"` // container.exit
	DurationMS int64    `json:"duration_ms,omitempty"`
	// NetworkMode, Networks, Ports and Mounts are a user container's
	// networking and mounts: on container.create what was asked, on
	// container.start what it got (addresses, bound host ports).
	NetworkMode string                     `json:"network_mode,omitempty"`
	Networks    []ContainerNetwork         `json:"networks,omitempty"`
	Ports       []ContainerPort            `json:"ports,omitempty"`
	Mounts      []ContainerMount           `json:"mounts,omitempty"`
	Unknown     map[string]json.RawMessage `json:"-"`
}

// ContainerNetwork is one bridge network a container is on.
type ContainerNetwork struct {
	Name    string   `json:"name"`
	IP      string   `json:"ip,omitempty"` // container.start only
	Aliases []string `json:"aliases,omitempty"`
}

// ContainerPort is one published port; HostPort 0 on container.create
// means "a free one", chosen at start.
type ContainerPort struct {
	ContainerPort int    `json:"container_port"`
	Proto         string `json:"proto"`
	HostIP        string `json:"host_ip,omitempty"`
	HostPort      int    `json:"host_port"`
}

// ContainerMount is one bind, volume or tmpfs mount.
type ContainerMount struct {
	Type        string `json:"type"`             // "bind", "volume", "tmpfs"
	Name        string `json:"name,omitempty"`   // the volume's name
	Source      string `json:"source,omitempty"` // host path (a volume's _data); empty for tmpfs
	Destination string `json:"destination"`
	RW          bool   `json:"rw"`
}

// OutputInfo is a chunk of a container's output.
type OutputInfo struct {
	Container string                     `json:"container,omitempty"`
	Stream    string                     `json:"stream"` // "stdout" or "stderr"
	Text      string                     `json:"text"`
	Unknown   map[string]json.RawMessage `json:"-"`
}

// PathSize is one of the largest paths of a snapshot.
type PathSize struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// SnapshotInfo is the filesystem snapshot taken of a stopped container.
type SnapshotInfo struct {
	Container string                     `json:"container"`
	Added     int                        `json:"added"`
	Changed   int                        `json:"changed"`
	Deleted   int                        `json:"deleted"`
	Bytes     int64                      `json:"bytes"`
	Largest   []PathSize                 `json:"largest,omitempty"`
	Paths     []string                   `json:"paths,omitempty"` // "A /usr/bin/redis-server" lines, capped
	Truncated bool                       `json:"truncated,omitempty"`
	Unknown   map[string]json.RawMessage `json:"-"`
}

// LayerInfo describes a layer committed (or the absence of one).
type LayerInfo struct {
	DiffID           string                     `json:"diff_id,omitempty"`
	Digest           string                     `json:"digest,omitempty"`
	Size             int64                      `json:"size"`              // compressed bytes
	UncompressedSize int64                      `json:"uncompressed_size"` // bytes of the tar
	MediaType        string                     `json:"media_type,omitempty"`
	Empty            bool                       `json:"empty,omitempty"` // metadata step: no layer, an empty_layer history entry
	Unknown          map[string]json.RawMessage `json:"-"`
}

// ImageInfo describes an image saved from a step or a commit.
type ImageInfo struct {
	ID        string                     `json:"id"`
	Parent    string                     `json:"parent,omitempty"`
	CreatedBy string                     `json:"created_by,omitempty"`
	Cmd       []string                   `json:"cmd,omitempty"`
	Layers    int                        `json:"layers"`
	Unknown   map[string]json.RawMessage `json:"-"`
}

// TagInfo records a name given to an image.
type TagInfo struct {
	Image   string                     `json:"image"`
	Ref     string                     `json:"ref"` // familiar form: rommelrico/redis:latest
	Unknown map[string]json.RawMessage `json:"-"`
}

// ClientInfo is one request of a client to a berth daemon, seen from the
// client: the daemon's own events for the work follow in its trace.
type ClientInfo struct {
	Host   string `json:"host"`            // the daemon's address: unix:///run/berth.sock
	Method string `json:"method"`          // POST
	Path   string `json:"path"`            // /build, /containers/create, /commit
	Bytes  int64  `json:"bytes,omitempty"` // client.upload: the body sent (a build context's tar)
	Files  int    `json:"files,omitempty"` // client.upload: entries of the context
	// client.response: what the daemon answered.
	Status     int                        `json:"status,omitempty"`
	Image      string                     `json:"image,omitempty"`
	Container  string                     `json:"container,omitempty"`
	Error      string                     `json:"error,omitempty"`
	DurationMS int64                      `json:"duration_ms,omitempty"`
	Unknown    map[string]json.RawMessage `json:"-"`
}

// PullInfo describes a pull or push as a whole.
type PullInfo struct {
	Ref        string                     `json:"ref"`
	Digest     string                     `json:"digest,omitempty"`
	Image      string                     `json:"image,omitempty"`
	UpToDate   bool                       `json:"up_to_date,omitempty"`
	Bytes      int64                      `json:"bytes,omitempty"`
	DurationMS int64                      `json:"duration_ms,omitempty"`
	Error      string                     `json:"error,omitempty"`
	Unknown    map[string]json.RawMessage `json:"-"`
}

// BlobInfo describes one blob moved (or not) during a pull or push.
type BlobInfo struct {
	Digest     string                     `json:"digest"`
	MediaType  string                     `json:"media_type,omitempty"`
	Bytes      int64                      `json:"bytes"`
	Reused     bool                       `json:"reused,omitempty"` // already in the store (pull) or the registry (push)
	DurationMS int64                      `json:"duration_ms,omitempty"`
	Unknown    map[string]json.RawMessage `json:"-"`
}

// MessageInfo is free text from the engine (warnings, notes).
type MessageInfo struct {
	Level   string                     `json:"level"` // "info", "warning"
	Text    string                     `json:"text"`
	Unknown map[string]json.RawMessage `json:"-"`
}

// Recorder receives events. Implementations must be safe for concurrent use.
type Recorder interface {
	Record(Event)
}

// RecorderFunc adapts a function to a Recorder.
type RecorderFunc func(Event)

// Record calls f.
func (f RecorderFunc) Record(e Event) { f(e) }

// Discard drops every event.
var Discard Recorder = RecorderFunc(func(Event) {})

// Stamper fills Version, Seq and Time of events before passing them on, so
// producers only say what happened. It is safe for concurrent use.
type Stamper struct {
	mu   sync.Mutex
	seq  int64
	next Recorder
	now  func() time.Time
}

// NewStamper returns a Stamper that forwards to next.
func NewStamper(next Recorder) *Stamper {
	return &Stamper{next: next, now: time.Now}
}

// Record stamps e and forwards it. Stamping and forwarding happen under one
// lock so every recorder sees events in Seq order.
func (s *Stamper) Record(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e.Version = SchemaVersion
	e.Seq = s.seq
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	s.next.Record(e)
}

// Multi fans events out to several recorders in order.
type Multi []Recorder

// Record sends e to every recorder.
func (m Multi) Record(e Event) {
	for _, r := range m {
		if r != nil {
			r.Record(e)
		}
	}
}

// Buffer keeps events in memory (tests, lessons, the what-if planner).
type Buffer struct {
	mu     sync.Mutex
	events []Event
}

// Record appends e.
func (b *Buffer) Record(e Event) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

// Events returns a copy of what was recorded.
func (b *Buffer) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.events...)
}

// OfType returns the recorded events of type t.
func (b *Buffer) OfType(t Type) []Event {
	var out []Event
	for _, e := range b.Events() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}
