package daemon

import (
	"errors"

	"github.com/berthkit/berth/engine/errdefs"
)

// errNotSwarmManager is dockerd's answer on the swarm endpoints of a node
// that is not in a swarm. Berth never is: docker swarm init gets it too.
var errNotSwarmManager = errdefs.WithClass(errors.New(
	"This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."),
	errdefs.Unavailable)

// swarmUnavailable answers /swarm, /nodes, /services, /tasks, /secrets and
// /configs, and everything under them.
func (s *Server) swarmUnavailable(w *responseWriter, r *request) error {
	return errNotSwarmManager
}
