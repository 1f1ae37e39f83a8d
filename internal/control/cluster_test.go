package control

import (
	"reflect"
	"testing"
)

func TestWithRemoteMembers(t *testing.T) {
	rooms := []Room{
		{Namespace: "/", Name: "lobby", Members: []string{"local2", "local1"}},
		{Namespace: "/chat", Name: "a", Members: []string{"local3"}},
	}
	remote := []Socket{
		{ID: "remote1", Namespace: "/", Rooms: []string{"lobby", "vip"}, Node: "n1"},
		{ID: "remote2", Namespace: "/chat", Rooms: []string{"lobby"}, Node: "n2"},
		{ID: "remote3", Namespace: "/", Node: "n2"}, // in no room but its own
	}
	got := WithRemoteMembers(rooms, remote)
	want := []Room{
		{Namespace: "/", Name: "lobby", Members: []string{"local1", "local2", "remote1"}},
		{Namespace: "/", Name: "vip", Members: []string{"remote1"}},
		{Namespace: "/chat", Name: "a", Members: []string{"local3"}},
		{Namespace: "/chat", Name: "lobby", Members: []string{"remote2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
