"""Classes referenced by the generated fixtures (imported by gen_fixtures.py)."""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __getstate__(self):
        return (self.a, self.b)

    def __setstate__(self, state):
        self.a, self.b = state


class WithKw:
    """Forces NEWOBJ_EX in protocol 4+ via keyword-only constructor args."""

    def __new__(cls, *, k):
        self = super().__new__(cls)
        self.k = k
        return self

    def __getnewargs_ex__(self):
        return (), {"k": self.k}


class Outer:
    class Inner:
        pass


class Ext1Cls:
    pass


class Ext2Cls:
    pass


class Ext4Cls:
    pass
