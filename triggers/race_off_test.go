//go:build !race

package triggers_test

// raceDetector is true when the tests run with -race.
const raceDetector = false
