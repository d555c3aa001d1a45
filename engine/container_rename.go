package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/store"
)

// ErrInvalidRequest is (errors.Is) a rename or update Docker would refuse
// as a bad request.
var ErrInvalidRequest = errdefs.New(errdefs.InvalidParameter, "invalid request")

// requestError says what is wrong, in Docker's words, and is
// ErrInvalidRequest.
type requestError string

func (e requestError) Error() string           { return string(e) }
func (e requestError) Is(target error) bool    { return target == ErrInvalidRequest }
func (e requestError) ErrClass() errdefs.Class { return errdefs.InvalidParameter }

// RenameContainer gives a container a new name, as docker rename: the name
// must be valid and free, and differ from the current one.
func (e *Engine) RenameContainer(ctx context.Context, idOrName, newName string) error {
	newName = strings.TrimPrefix(newName, "/")
	if idOrName == "" || newName == "" {
		return requestError("Neither old nor new names may be empty")
	}
	if !validName.MatchString(newName) {
		return requestError(fmt.Sprintf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName))
	}
	c, err := e.Store.Container(idOrName)
	if err != nil {
		return err
	}
	if c.Name == newName {
		return requestError("Renaming a container with the same name as its current name")
	}
	// Names are unique: check and write under the store's lock, as create.
	unlock, err := e.Store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	// The new name's entry first, the record next, the old entry last:
	// a crash between leaves an entry that is stale, free to take.
	holder, err := e.Store.ClaimContainerName(newName, c.ID)
	if err != nil {
		return err
	}
	if holder != "" {
		return fmt.Errorf("Error when allocating new name: %w", nameConflict(newName, holder))
	}
	var oldName string
	_, err = e.Store.UpdateContainer(c.ID, func(now *store.Container) error {
		oldName = now.Name
		now.Name = newName
		return nil
	})
	if err != nil {
		_ = e.Store.ReleaseContainerName(newName, c.ID)
		return fmt.Errorf("rename container %s: %w", c.ShortID(), err)
	}
	// Failing to remove the old entry leaves it stale: free to take.
	_ = e.Store.ReleaseContainerName(oldName, c.ID)
	return nil
}
