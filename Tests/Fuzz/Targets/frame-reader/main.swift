import FuzzSupport

runLibFuzzer(fuzzFrameReader)
