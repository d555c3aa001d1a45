package engine

import (
	"errors"

	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
)

// Spare is the init of a container that is not created yet, started ahead
// by StartAhead; nil when none was started.
type Spare struct {
	id string
}

// StartAhead chooses the ID of the container that CreateContainer(*opts)
// will create and starts that container's init in the background
// (runtime.StartSpare): its cgroup, clone, execve and Go runtime start run
// on the other core while the caller opens the store, finds the image,
// writes the record, claims the name and prepares the snapshot, instead of
// after all of that. StartAttached takes it when the container it starts
// still fits it (same namespaces and resources, no terminal, no input);
// anything else is started as without it. Nothing of the container exists
// before CreateContainer: no record, no name, no trace event.
//
// For a container started attached by this process (`berth run` without
// -d, -i or -t). The caller must call Discard once the container has
// exited or failed to be created or started; it returns nil, with opts
// untouched, when no init is started ahead.
func StartAhead(opts *ContainerCreateOptions) *Spare {
	if opts.id != "" || opts.Tty || opts.OpenStdin || opts.metadataOnly {
		return nil
	}
	c := newContainerRecord(store.ContainerConfig{}, *opts, nil, nil) // with a fresh ID
	spec := &runtime.Spec{ID: c.ID, Network: c.Host.NetworkMode, Resources: hostResources(c)}
	if extraSpec(c, spec) != nil {
		return nil // a bad --tmpfs: CreateContainer says so
	}
	opts.id = c.ID
	runtime.StartSpare(spec)
	return &Spare{id: c.ID}
}

// ID is the ID chosen for the container.
func (s *Spare) ID() string { return s.id }

// Discard kills the init started ahead if no container took it and removes
// its cgroup, then the empty cgroups of spares a killed berth left (e is
// nil when the engine could not be opened), and, when it removed either,
// the berth cgroup parents if nothing else is in them, as a container's
// removal does (a container that took the init removed them at its exit,
// unless a stray cgroup was still in them). Nothing for a nil Spare.
func (s *Spare) Discard(e *Engine) {
	if s == nil {
		return
	}
	removed := runtime.DiscardSpare(s.id)
	if e != nil && runtime.RemoveStrayCgroups("", e.spareCgroupInUse) {
		removed = true
	}
	if removed {
		runtime.RemoveCgroupParents("")
	}
}

// spareCgroupInUse says the cgroup of the container id, made for a spare
// (runtime.RemoveStrayCgroups), may still be in use: the container runs,
// and its supervisor removes the cgroup once it exits, or its record
// cannot be read. One whose container is not in the store, or was created
// and never started by a berth killed with its spare running, is not.
func (e *Engine) spareCgroupInUse(id string) bool {
	c, err := e.Store.ReadContainer(id)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	return err != nil || c.State.Running()
}

// hostResources are the cgroup limits of the container's host config
// that runtimeSpec passes on (extraSpec adds the CPU weight and sets).
func hostResources(c *store.Container) runtime.Resources {
	return runtime.Resources{Memory: c.Host.Memory, PidsLimit: c.Host.PidsLimit, NanoCPUs: c.Host.NanoCPUs}
}
