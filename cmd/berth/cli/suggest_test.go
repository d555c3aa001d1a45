package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"tag", "tag", 0}, {"tagg", "tag", 1}, {"buidl", "build", 2}, {"", "abc", 3}, {"foo", "root", 2}} {
		require.Equal(t, tc.want, levenshtein(tc.a, tc.b), "%s/%s", tc.a, tc.b)
	}
}

func TestSuggestions(t *testing.T) {
	root := newRootCmd(&globalOptions{})
	build, _, err := root.Find([]string{"build"})
	require.NoError(t, err)
	require.Equal(t, []string{"--tag"}, suggestFlags(build, "unknown flag: --tagg"))
	require.Equal(t, []string{"--tag"}, suggestFlags(build, "unknown flag: --tagg=x"))
	require.Empty(t, suggestFlags(build, "unknown shorthand flag: 'Z' in -Z"))
	require.Empty(t, suggestFlags(build, "unknown flag: --zzzzzzzz"))

	require.Equal(t, []string{"build"}, suggestCommands(root, "buidl"))
	require.Empty(t, suggestCommands(root, "x"))
	image, _, err := root.Find([]string{"image"})
	require.NoError(t, err)
	require.Contains(t, suggestCommands(image, "lss"), "ls")
}
