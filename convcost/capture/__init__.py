"""Turn a real ``nn.Module`` and an input spec into the op node list (imports torch)."""

from convcost.capture.recorder import ModuleCall, Recording, gc_paused, record

__all__ = ["ModuleCall", "Recording", "gc_paused", "record"]
