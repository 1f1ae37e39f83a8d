# Thin names for the scripts in scripts/.
.PHONY: test build fuzz
test:
	./scripts/test.sh
build:
	go build -o sio ./cmd/sio
fuzz:
	./scripts/fuzz.sh
