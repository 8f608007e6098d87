"""Long-running fuzzing of the decoder and the Engine with atheris: see fuzz_stomp.py."""
