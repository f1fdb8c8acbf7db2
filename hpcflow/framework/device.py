"""Device names as TF1 writes them: `/job:worker/replica:0/task:3/device:GPU:0`, `/cpu:0`."""


class DeviceSpec:
    """A parsed, possibly partial device name. Unset fields are None."""

    __slots__ = ("job", "replica", "task", "device_type", "device_index")

    def __init__(self, job=None, replica=None, task=None, device_type=None, device_index=None):
        self.job = job
        self.replica = None if replica is None else int(replica)
        self.task = None if task is None else int(task)
        self.device_type = None if device_type is None else device_type.upper()
        self.device_index = None if device_index in (None, "*") else int(device_index)

    @classmethod
    def from_string(cls, spec):
        """Parses `spec`.

        Raises:
          ValueError: naming the part of `spec` that is not a device name.
        """
        result = cls()
        if not spec:
            return result
        for part in spec.split("/"):
            if not part:
                continue
            pieces = part.split(":")
            key = pieces[0].lower()
            try:
                if key == "job" and len(pieces) == 2:
                    result.job = pieces[1]
                elif key == "replica" and len(pieces) == 2:
                    result.replica = int(pieces[1])
                elif key == "task" and len(pieces) == 2:
                    result.task = int(pieces[1])
                elif key == "device" and len(pieces) in (2, 3):
                    result.device_type = pieces[1].upper()
                    if len(pieces) == 3 and pieces[2] != "*":
                        result.device_index = int(pieces[2])
                elif key in ("cpu", "gpu") and len(pieces) == 2:
                    result.device_type = key.upper()
                    if pieces[1] != "*":
                        result.device_index = int(pieces[1])
                else:
                    raise ValueError
            except ValueError:
                raise ValueError("Unknown attribute: '%s' in '%s'" % (part, spec))
        return result

    def merge_from(self, other):
        """Fields set in `other` override fields of `self` (as nested `tf.device` scopes)."""
        merged = DeviceSpec(self.job, self.replica, self.task, self.device_type, self.device_index)
        for field in ("job", "replica", "task"):
            value = getattr(other, field)
            if value is not None:
                setattr(merged, field, value)
        if other.device_type is not None:
            merged.device_type = other.device_type
            merged.device_index = other.device_index
        return merged

    def to_string(self):
        parts = []
        if self.job is not None:
            parts.append("/job:%s" % self.job)
        if self.replica is not None:
            parts.append("/replica:%d" % self.replica)
        if self.task is not None:
            parts.append("/task:%d" % self.task)
        if self.device_type is not None:
            parts.append("/device:%s:%s" % (self.device_type,
                                            "*" if self.device_index is None else self.device_index))
        return "".join(parts)

    def __eq__(self, other):
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self):
        return hash(self.to_string())

    def __repr__(self):
        return "DeviceSpec(%r)" % self.to_string()


def canonical_name(spec):
    """`spec` (string, DeviceSpec or None) as a canonical string ('' for no device)."""
    if spec is None:
        return ""
    if isinstance(spec, DeviceSpec):
        return spec.to_string()
    return DeviceSpec.from_string(spec).to_string()


def merge_device(outer, inner):
    """The device string of an op created under `outer` then `inner` device scopes."""
    if not inner:
        return outer
    if not outer:
        return canonical_name(inner)
    return DeviceSpec.from_string(outer).merge_from(DeviceSpec.from_string(inner)).to_string()
