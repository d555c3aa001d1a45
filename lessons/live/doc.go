// Package live runs lessons on the real engine: Prepare makes a lesson its
// own berth root (a temporary directory) with the base image in it, copied
// from the user's root or made offline, and Backend carries out the
// lesson's builds, runs and commits there with every event traced.
package live
