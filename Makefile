# Entry points; the work is done by scripts/ and CMake.
#   make run      install what is missing, build, run the main program (scripts/run.sh):
#                 resumate-server on 127.0.0.1:8000; server flags go in ARGS="--port 8080 ..."
#   make example  build and run examples/basic
#   make test     install what is missing, build, run every test suite (scripts/test.sh)
#   make deps     only install the dependencies
#   make build    configure and build into $(BUILD_DIR)
#   make install  install into $(PREFIX)
#   make clean    remove the build directories
BUILD_DIR ?= $(or $(RM_BUILD_DIR),build)
ASAN_BUILD_DIR ?= $(or $(RM_ASAN_BUILD_DIR),build-asan)
PREFIX ?= /usr/local
export RM_BUILD_DIR := $(BUILD_DIR)
export RM_ASAN_BUILD_DIR := $(ASAN_BUILD_DIR)

.PHONY: all run example test deps build install clean
all: build

run:
	bash scripts/run.sh $(ARGS)

example: build
	$(BUILD_DIR)/examples/basic

test:
	bash scripts/test.sh

deps:
	bash scripts/deps.sh

build:
	cmake -S . -B $(BUILD_DIR) -DRM_WERROR=ON
	cmake --build $(BUILD_DIR) -j$$(nproc)

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
