// Package dockerfile reads Dockerfiles the way Docker's classic builder does and hands
// the builder a list of typed, validated instructions.
//
// The grammar is BuildKit's own parser (github.com/moby/buildkit/frontend/dockerfile/parser):
// line continuations, the "# escape=" directive, comments, JSON (exec) form versus shell
// form with Docker's fallback to shell form when the JSON is invalid, heredocs, and the
// flags in front of the arguments. On top of that this package checks every instruction
// with Docker's own error wording, and reports every problem as an *Error naming the file
// and line:
//
//	Dockerfile:2: unknown instruction: RUNN
//
// Parsing never expands variables: Args, KeyValues and Flags hold the text as written.
// The builder expands the words of the instructions for which Expands reports true,
// with Expand (one word in, one word out) or ExpandFields (EXPOSE's word splitting),
// using the ARG and ENV values in scope at that step. Expand also removes the quotes
// and escapes, so it must run over those words even when they hold no "$".
//
// ParseChange reads the `--change` lines of `commit` and `import`, and ParseTrigger the
// ONBUILD triggers stored in a base image, with the checks Docker applies to each.
package dockerfile
