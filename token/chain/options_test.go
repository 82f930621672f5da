package chain

import (
	"reflect"
	"testing"

	"github.com/kubeiam/kubeiam/token/execargs"
)

// TestOptionsForCarriesEveryField: every Request field that Options also has
// is carried over, so a new one cannot be forgotten by token, whoami or
// doctor (they all start from OptionsFor).
func TestOptionsForCarriesEveryField(t *testing.T) {
	var req execargs.Request
	rv := reflect.ValueOf(&req).Elem()
	for i := range rv.NumField() {
		switch f := rv.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("v-" + rv.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		}
	}
	got := reflect.ValueOf(OptionsFor(&req))
	shared := 0
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Name
		o := got.FieldByName(name)
		if !o.IsValid() {
			continue
		}
		shared++
		if !reflect.DeepEqual(o.Interface(), rv.Field(i).Interface()) {
			t.Errorf("Options.%s = %v, want the request's %v", name, o.Interface(), rv.Field(i).Interface())
		}
	}
	if shared < 9 {
		t.Fatalf("only %d fields shared between Request and Options", shared)
	}
}
