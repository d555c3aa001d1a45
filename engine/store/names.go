package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// ParseRef parses an image name the way Docker does and returns it normalised
// with the default tag: "alpine" is docker.io/library/alpine:latest. A name
// with a digest keeps its digest and gets no tag. Errors use Docker's wording
// ("invalid reference format: repository name must be lowercase").
func ParseRef(name string) (reference.Named, error) {
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, refError(err)
	}
	return reference.TagNameOnly(ref), nil
}

// ParseTag parses a name that must name a tag (no digest), for `tag`,
// `build -t`, `commit REPO[:TAG]`.
func ParseTag(name string) (reference.NamedTagged, error) {
	ref, err := ParseRef(name)
	if err != nil {
		return nil, err
	}
	if _, ok := ref.(reference.Digested); ok {
		return nil, fmt.Errorf("invalid reference format: %q: a tag cannot carry a digest", name)
	}
	tagged, ok := ref.(reference.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("invalid reference format: %q", name)
	}
	return tagged, nil
}

func refError(err error) error {
	switch {
	case errors.Is(err, reference.ErrNameNotCanonical), errors.Is(err, reference.ErrNameContainsUppercase):
		return errors.New("invalid reference format: repository name must be lowercase")
	case errors.Is(err, reference.ErrNameTooLong):
		return errors.New("invalid reference format: repository name must not be more than 255 characters")
	case errors.Is(err, reference.ErrTagInvalidFormat), errors.Is(err, reference.ErrReferenceInvalidFormat),
		errors.Is(err, reference.ErrNameEmpty), errors.Is(err, reference.ErrDigestInvalidFormat):
		return errors.New("invalid reference format")
	}
	msg := err.Error()
	// distribution/reference words this one itself: "invalid reference
	// format: repository name (library/Busybox) must be lowercase".
	if strings.Contains(msg, "uppercase") || strings.Contains(msg, "must be lowercase") {
		return errors.New("invalid reference format: repository name must be lowercase")
	}
	return fmt.Errorf("invalid reference format: %w", err)
}

// Familiar returns the short form Docker shows: "busybox:latest",
// "rommelrico/redis:latest", "localhost:5000/x:1".
func Familiar(fullName string) string {
	ref, err := reference.ParseNormalizedNamed(fullName)
	if err != nil {
		return fullName
	}
	return reference.FamiliarString(ref)
}

// SplitFamiliar returns the REPOSITORY and TAG columns of `images`.
func SplitFamiliar(fullName string) (repo, tag string) {
	ref, err := reference.ParseNormalizedNamed(fullName)
	if err != nil {
		return fullName, "<none>"
	}
	repo = reference.FamiliarName(ref)
	tag = "<none>"
	if t, ok := ref.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return repo, tag
}
