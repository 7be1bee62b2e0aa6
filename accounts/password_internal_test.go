package accounts

import (
	"fmt"
	"strings"
	"testing"
)

// The dummy hash an unknown email's login is checked against costs what a
// real one does: it is a hash of HashPassword's parameters, so a login's
// time does not tell whether its email exists. Changing the parameters
// fails this until the constant is made again (HashPassword's output).
func TestDummyHashMatchesTheParameters(t *testing.T) {
	t.Parallel()
	params := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", argonMemory, argonTime, argonThreads)
	if !strings.HasPrefix(dummyHash, params) {
		t.Errorf("dummyHash %q does not start with %q", dummyHash, params)
	}
	if ok, err := CheckPassword(dummyHash, "intake-dummy-password"); err != nil || !ok {
		t.Errorf("dummyHash is not the hash of its password: %v %v", ok, err)
	}
}
