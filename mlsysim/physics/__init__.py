"""Pure float functions of first-principles performance physics (SI units, no pint, no pydantic).

Every function takes and returns plain floats: FLOPs, bytes, seconds, bytes/s, FLOP/s.
"""
