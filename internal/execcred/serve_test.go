package execcred

import (
	"testing"
	"time"
)

func TestMinRemaining(t *testing.T) {
	envMap := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if d, err := MinRemaining(envMap(nil)); err != nil || d != time.Minute {
		t.Errorf("default min remaining %s %v", d, err)
	}
	if d, err := MinRemaining(envMap(map[string]string{MinRemainingEnv: "90s"})); err != nil || d != 90*time.Second {
		t.Errorf("90s: %s %v", d, err)
	}
	if _, err := MinRemaining(envMap(map[string]string{MinRemainingEnv: "forever"})); err == nil {
		t.Error("a bad duration was accepted")
	}
}
