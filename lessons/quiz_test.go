package lessons

import (
	"reflect"
	"testing"
)

func TestParseGuess(t *testing.T) {
	cases := []struct {
		in   string
		want []int
		err  bool
	}{
		{"", nil, false},
		{"1 2", []int{1, 2}, false},
		{"1,3", []int{1, 3}, false},
		{" 2-4 ", []int{2, 3, 4}, false},
		{"0", nil, true},
		{"5", nil, true},
		{"x", nil, true},
		{"3-2", nil, true},
		{"1-9", nil, true},
	}
	for _, c := range cases {
		got, err := parseGuess(c.in, 4)
		if (err != nil) != c.err {
			t.Errorf("parseGuess(%q) error = %v, want error %v", c.in, err, c.err)
			continue
		}
		if c.err {
			continue
		}
		want := map[int]bool{}
		for _, n := range c.want {
			want[n] = true
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseGuess(%q) = %v, want %v", c.in, got, want)
		}
	}
	if stepList(map[int]bool{3: true, 1: true}) != "1 3" || stepList(nil) != "none" {
		t.Error("stepList")
	}
}
