package campaigns

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidateGolden is what `tidings validate testdata/validate` prints.
func TestValidateGolden(t *testing.T) {
	list, problems := Load("testdata/validate")
	var b strings.Builder
	for _, p := range problems {
		fmt.Fprintln(&b, p.String())
	}
	fmt.Fprintf(&b, "%d campaign(s) loaded\n", len(list))
	golden(t, "validate.golden", b.String())
}
