// Package storetest holds test helpers for code that writes images into a
// Berth store. Every test that produces an image ends with ValidateAll, so
// the store's validator is the oracle for everything that writes images.
package storetest
