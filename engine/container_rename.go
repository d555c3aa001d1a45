package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthkit/berth/engine/store"
)

// ErrInvalidName is returned (wrapped, errors.Is) for a rename Docker
// would refuse as a bad request.
var ErrInvalidName = errors.New("invalid container name")

// nameError says what is wrong with a name, in Docker's words, and is
// ErrInvalidName.
type nameError string

func (e nameError) Error() string        { return string(e) }
func (e nameError) Is(target error) bool { return target == ErrInvalidName }

// RenameContainer gives a container a new name, as docker rename: the name
// must be valid and free, and differ from the current one.
func (e *Engine) RenameContainer(ctx context.Context, idOrName, newName string) error {
	newName = strings.TrimPrefix(newName, "/")
	if idOrName == "" || newName == "" {
		return nameError("Neither old nor new names may be empty")
	}
	if !validName.MatchString(newName) {
		return nameError(fmt.Sprintf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName))
	}
	c, err := e.Store.Container(idOrName)
	if err != nil {
		return err
	}
	if c.Name == newName {
		return nameError("Renaming a container with the same name as its current name")
	}
	// Names are unique: check and write under the store's lock, as create.
	unlock, err := e.Store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	all, err := e.Store.Containers()
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Name == newName && o.ID != c.ID {
			return fmt.Errorf("Error when allocating new name: Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.: %w", newName, o.ID, store.ErrConflict)
		}
	}
	_, err = e.Store.UpdateContainer(c.ID, func(now *store.Container) error {
		now.Name = newName
		return nil
	})
	if err != nil {
		return fmt.Errorf("rename container %s: %w", c.ShortID(), err)
	}
	return nil
}
