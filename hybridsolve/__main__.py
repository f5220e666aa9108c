import sys

from hybridsolve.demo import main

main(quick="--quick" in sys.argv)
