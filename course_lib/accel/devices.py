"""Which accelerator is here, and the training settings that suit it.

Two layers:

* **Pure choices** (:func:`choose_precision`, :func:`choose_strategy`, :func:`plan_for`): they
  take a :class:`Hardware` description and return what to do and why. They import nothing
  heavy, so a test or a learner can ask "what would two A100s get?" on a laptop::

      >>> from course_lib.accel.devices import GpuInfo, Hardware, plan_for
      >>> plan = plan_for(Hardware(gpus=(GpuInfo("NVIDIA A100-SXM4-40GB", (8, 0)),) * 2))
      >>> plan.precision, plan.strategy
      ('mixed_bfloat16', 'mirrored')

* **A thin layer over the Keras backend** (:func:`detect_hardware`, :func:`configure`): reads the
  real devices, turns on GPU memory growth and builds the distribution: a ``tf.distribute``
  strategy on TensorFlow, a ``keras.distribution`` on JAX (see :mod:`course_lib.accel.backend`;
  with ``KERAS_BACKEND=jax`` nothing here imports TensorFlow).

The rules (each :class:`AccelPlan` carries the reason for every choice):

=============================  ================  ==================  ====  ====================
hardware                       precision         strategy            XLA   steps per execution
=============================  ================  ==================  ====  ====================
CPU only                       float32           default             no    1
one GPU, compute cap. >= 8.0   mixed_bfloat16    default             yes   32
one GPU, compute cap. 7.x      mixed_float16     default             yes   32
several GPUs                   as above          MirroredStrategy    no    32
``TF_CONFIG`` with a cluster   as above          MultiWorkerMirrored no    32
TPU                            mixed_bfloat16    TPUStrategy         no    32
=============================  ================  ==================  ====  ====================

``mixed_float16`` needs loss scaling: Keras wraps the optimizer in a ``LossScaleOptimizer`` at
``compile()`` by itself when the model's policy is ``mixed_float16`` (see
:attr:`AccelPlan.loss_scaling`). On a CPU, mixed precision and XLA make training slower, not
faster (measured: ``benchmarks/README.md``), so the CPU plan keeps both off. Keras does not
compile a step that spans several replicas with XLA, and a TPU compiles every step anyway, so
those plans leave ``jit_compile`` off.

On JAX the precision policy and ``steps_per_execution`` are the same Keras settings; the
differences are:

* Keras on JAX always compiles the step with XLA (``jax.jit``): ``jit_compile=False`` would run
  it op by op, many times slower, so the JAX plan keeps XLA on, on a CPU and across replicas too;
* several GPUs or a TPU get the ``data_parallel`` strategy, ``keras.distribution.DataParallel``
  (JAX's counterpart of ``MirroredStrategy``: the batch is split along a device mesh and the
  gradients are averaged); ``strategy="mirrored"`` asks for it too, so code runs on both
  backends. ``TF_CONFIG`` clusters are a TensorFlow feature: on JAX several machines start with
  ``keras.distribution.initialize()`` instead, which :func:`configure` does not do;
* cuDNN's bfloat16 gap for LSTM and GRU does not apply (JAX runs them as an XLA loop);
* ``steps_per_execution`` is the same setting, but Keras 3.15 runs the steps of one execution
  as a Python loop of jitted single steps (not one compiled loop, as ``tf.function`` does): it
  saves the per-step callbacks and logs, not the dispatch of each step.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from course_lib.errors import CourseError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu", "data_parallel")

#: Steps run inside one ``tf.function`` call on an accelerator. Fewer Python round trips per
#: batch is most of what small models gain on a fast GPU; 32 keeps the progress bar lively.
ACCELERATOR_STEPS_PER_EXECUTION = 32
#: On a CPU: measured in benchmarks/README.md (2-core AMD EPYC); see the CPU plan's reasons.
CPU_STEPS_PER_EXECUTION = 1
CPU_JIT_COMPILE = False


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as TensorFlow describes it: its name and CUDA compute capability (major, minor)."""

    name: str
    compute_capability: tuple[int, int] | None = None

    @property
    def short_name(self) -> str:
        return self.name.replace("NVIDIA ", "")


@dataclass(frozen=True)
class ClusterInfo:
    """The part of ``TF_CONFIG`` that matters here: how many workers, and which one this is."""

    workers: int
    task_type: str
    task_index: int


@dataclass(frozen=True)
class Hardware:
    """What training can run on. Build one by hand to ask "what if", or call :func:`detect_hardware`."""

    gpus: tuple[GpuInfo, ...] = ()
    tpu_cores: int = 0
    cluster: ClusterInfo | None = None
    cpu_name: str = "CPU"
    cpu_count: int = 1

    @property
    def kind(self) -> str:
        """``"tpu"``, ``"gpu"`` or ``"cpu"``: the device the model's math runs on."""
        if self.tpu_cores:
            return "tpu"
        return "gpu" if self.gpus else "cpu"

    def describe(self) -> str:
        """One line, e.g. ``2 x A100-SXM4-40GB (compute capability 8.0)``."""
        if self.tpu_cores:
            text = f"TPU with {self.tpu_cores} cores"
        elif self.gpus:
            names = sorted({gpu.short_name for gpu in self.gpus})
            capabilities = sorted({gpu.compute_capability for gpu in self.gpus if gpu.compute_capability})
            text = f"{len(self.gpus)} x {', '.join(names)}"
            if capabilities:
                text += " (compute capability " + ", ".join(f"{a}.{b}" for a, b in capabilities) + ")"
        else:
            text = f"{self.cpu_name} ({self.cpu_count} cores, no GPU)"
        if self.cluster:
            text += (f"; worker {self.cluster.task_index} of {self.cluster.workers} "
                     f"({self.cluster.task_type})")
        return text


@dataclass(frozen=True)
class AccelPlan:
    """The settings training will use, each with the reason it was chosen.

    ``reasons`` maps ``"precision"``, ``"strategy"``, ``"jit_compile"`` and
    ``"steps_per_execution"`` to one sentence each.
    """

    hardware: Hardware
    precision: str
    strategy: str
    jit_compile: bool
    steps_per_execution: int
    reasons: Mapping[str, str] = field(default_factory=dict)
    backend: str = "tensorflow"

    @property
    def loss_scaling(self) -> bool:
        """True for ``mixed_float16``: Keras scales the loss so small float16 gradients survive."""
        return self.precision == "mixed_float16"

    def one_line(self) -> str:
        """E.g. ``mixed_bfloat16 | XLA on | 32 steps per execution | default strategy``."""
        steps = "step" if self.steps_per_execution == 1 else "steps"
        return (f"{self.precision} | XLA {'on' if self.jit_compile else 'off'} | "
                f"{self.steps_per_execution} {steps} per execution | {self.strategy} strategy")

    def summary(self) -> str:
        """The table a notebook prints: setting, value, why."""
        rows = [
            ("device", self.hardware.describe(), ""),
            *([("Keras backend", self.backend, "")] if self.backend != "tensorflow" else []),
            ("precision", self.precision, self.reasons.get("precision", "")),
            ("loss scaling", "yes" if self.loss_scaling else "no",
             "float16 gradients underflow without it" if self.loss_scaling else "not needed"),
            ("strategy", self.strategy, self.reasons.get("strategy", "")),
            ("XLA (jit_compile)", "on" if self.jit_compile else "off",
             self.reasons.get("jit_compile", "")),
            ("steps_per_execution", str(self.steps_per_execution),
             self.reasons.get("steps_per_execution", "")),
        ]
        width = max(len(name) for name, _, _ in rows)
        value_width = max(len(value) for _, value, _ in rows)
        return "\n".join(
            f"{name:<{width}}  {value:<{value_width}}  {why}".rstrip() for name, value, why in rows
        )


def parse_tf_config(text: str | None) -> ClusterInfo | None:
    """Read ``TF_CONFIG``: a :class:`ClusterInfo` when it describes more than one worker.

    ``TF_CONFIG`` is the JSON that ``MultiWorkerMirroredStrategy`` reads, e.g.
    ``{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}``.
    """
    if not text or not text.strip():
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise CourseError(
            f"TF_CONFIG is not valid JSON ({error.msg} at character {error.pos}). Set it to "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": N}} '
            "or unset it to train on this machine alone."
        ) from None
    cluster = config.get("cluster") or {}
    workers = sum(len(cluster.get(role, [])) for role in ("chief", "worker"))
    if workers < 2:
        return None
    task = config.get("task") or {}
    if "type" not in task or "index" not in task:
        raise CourseError(
            'TF_CONFIG describes a cluster but no "task": add "task": {"type": "worker", "index": N} '
            "naming this machine's place in the worker list."
        )
    return ClusterInfo(workers=workers, task_type=str(task["type"]), task_index=int(task["index"]))


def _check(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in ("auto", *allowed):
        raise CourseError(f"{name}={value!r} is not a choice here; use 'auto' or one of: "
                          + ", ".join(repr(choice) for choice in allowed))
    return value


def choose_precision(hardware: Hardware, requested: str = "auto") -> tuple[str, str]:
    """Return ``(policy name, reason)`` for the Keras mixed-precision policy.

    bfloat16 keeps float32's range, so it needs no loss scaling; it runs fast on tensor cores from
    compute capability 8.0 (A100, L4, H100) and on TPUs. Compute capability 7.x (V100, T4) has
    float16 tensor cores but no fast bfloat16. Older GPUs and CPUs gain nothing from either.
    """
    _check("precision", requested, PRECISIONS)
    if requested != "auto":
        return requested, "asked for"
    if hardware.tpu_cores:
        return "mixed_bfloat16", "TPUs compute in bfloat16 natively"
    if not hardware.gpus:
        return "float32", "CPUs have no fast half-precision math; mixed precision would slow them down"
    capabilities = [gpu.compute_capability for gpu in hardware.gpus]
    if any(capability is None for capability in capabilities):
        return "float32", "the GPU did not report its compute capability, so float32 is the safe choice"
    lowest = min(capabilities)  # every replica must run the policy, so the oldest GPU decides
    shown = f"{lowest[0]}.{lowest[1]}"
    if lowest >= (8, 0):
        return "mixed_bfloat16", f"compute capability {shown} has bfloat16 tensor cores (no loss scaling needed)"
    if lowest >= (7, 0):
        return "mixed_float16", f"compute capability {shown} has float16 tensor cores but no fast bfloat16"
    return "float32", f"compute capability {shown} has no tensor cores; mixed precision gains nothing"


def choose_strategy(hardware: Hardware, requested: str = "auto",
                    backend: str = "tensorflow") -> tuple[str, str]:
    """Return ``(strategy kind, reason)``: one of :data:`STRATEGIES`.

    On TensorFlow: ``default``, ``mirrored``, ``multi_worker`` or ``tpu``; on JAX: ``default`` or
    ``data_parallel`` (``mirrored`` and ``tpu`` are read as ``data_parallel`` there, and
    ``data_parallel`` as ``mirrored`` on TensorFlow, so the same call works on both).
    """
    _check("strategy", requested, STRATEGIES)
    if backend == "jax":
        return _choose_jax_strategy(hardware, requested)
    if requested == "data_parallel":
        return "mirrored", "asked for (data_parallel is MirroredStrategy on TensorFlow)"
    if requested != "auto":
        return requested, "asked for"
    if hardware.tpu_cores:
        return "tpu", f"a TPU with {hardware.tpu_cores} cores: TPUStrategy spreads each batch over them"
    if hardware.cluster:
        return "multi_worker", (f"TF_CONFIG describes {hardware.cluster.workers} workers: "
                                "MultiWorkerMirroredStrategy keeps their weights in step")
    if len(hardware.gpus) > 1:
        return "mirrored", f"{len(hardware.gpus)} GPUs: MirroredStrategy splits each batch across them"
    device = "one GPU" if hardware.gpus else "the CPU"
    return "default", f"{device}: nothing to distribute"


def _choose_jax_strategy(hardware: Hardware, requested: str) -> tuple[str, str]:
    if requested == "multi_worker":
        raise CourseError(
            "strategy='multi_worker' is TensorFlow's MultiWorkerMirroredStrategy. On JAX, start "
            "every machine with keras.distribution.initialize(...) and use "
            "strategy='data_parallel'."
        )
    if requested in ("mirrored", "tpu", "data_parallel"):
        return "data_parallel", ("asked for" if requested == "data_parallel" else
                                 f"asked for {requested!r}: on JAX that is "
                                 "keras.distribution.DataParallel")
    if requested == "default":
        return "default", "asked for"
    if hardware.tpu_cores:
        return "data_parallel", (f"a TPU with {hardware.tpu_cores} cores: "
                                 "keras.distribution.DataParallel spreads each batch over them")
    if len(hardware.gpus) > 1:
        return "data_parallel", (f"{len(hardware.gpus)} GPUs: keras.distribution.DataParallel "
                                 "splits each batch across them")
    device = "one GPU" if hardware.gpus else "the CPU"
    return "default", f"{device}: nothing to distribute"


def choose_jit_compile(hardware: Hardware, strategy: str, requested: bool | str = "auto",
                       backend: str = "tensorflow") -> tuple[bool, str]:
    """Return ``(jit_compile, reason)``: whether Keras compiles the training step with XLA."""
    if requested != "auto":
        if not isinstance(requested, bool):
            raise CourseError(f"jit_compile={requested!r}: use True, False or 'auto'")
        return requested, "asked for"
    if backend == "jax":
        return True, ("Keras on JAX always compiles the step with XLA (jax.jit); without it "
                      "every op would run on its own")
    if strategy == "tpu":
        return False, "a TPU compiles every step with XLA already"
    if strategy in ("mirrored", "multi_worker"):
        return False, "Keras does not XLA-compile a step that spans several replicas"
    if hardware.gpus:
        return True, "XLA fuses the step's small ops into fewer GPU kernels"
    if CPU_JIT_COMPILE:
        return True, "measured faster on a CPU for the course models (benchmarks/README.md)"
    return False, "measured: XLA is no faster on a CPU for the course models (benchmarks/README.md)"


def choose_steps_per_execution(hardware: Hardware, requested: int | str = "auto") -> tuple[int, str]:
    """Return ``(steps_per_execution, reason)``: batches run per call into TensorFlow."""
    if requested != "auto":
        if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise CourseError(f"steps_per_execution={requested!r}: use a whole number >= 1 or 'auto'")
        return requested, "asked for"
    if hardware.gpus or hardware.tpu_cores:
        return ACCELERATOR_STEPS_PER_EXECUTION, (
            "one Python round trip per batch leaves a fast accelerator idle; "
            f"{ACCELERATOR_STEPS_PER_EXECUTION} batches per call hide it")
    if CPU_STEPS_PER_EXECUTION == 1:
        return 1, "on a CPU the step's math dominates; grouping batches gained nothing measurable"
    return CPU_STEPS_PER_EXECUTION, "measured faster on a CPU (benchmarks/README.md)"


def plan_for(
    hardware: Hardware,
    *,
    precision: str = "auto",
    strategy: str = "auto",
    jit_compile: bool | str = "auto",
    steps_per_execution: int | str = "auto",
    backend: str = "tensorflow",
) -> AccelPlan:
    """Every setting for ``hardware``: ``"auto"`` picks by the rules above, any other value wins.

    ``backend`` is the Keras backend the plan is for, ``"tensorflow"`` or ``"jax"``.
    """
    chosen_precision, precision_reason = choose_precision(hardware, precision)
    chosen_strategy, strategy_reason = choose_strategy(hardware, strategy, backend)
    chosen_jit, jit_reason = choose_jit_compile(hardware, chosen_strategy, jit_compile, backend)
    chosen_steps, steps_reason = choose_steps_per_execution(hardware, steps_per_execution)
    return AccelPlan(
        hardware=hardware,
        precision=chosen_precision,
        strategy=chosen_strategy,
        jit_compile=chosen_jit,
        steps_per_execution=chosen_steps,
        reasons={
            "precision": precision_reason,
            "strategy": strategy_reason,
            "jit_compile": jit_reason,
            "steps_per_execution": steps_reason,
        },
        backend=backend,
    )


def with_precision(plan: AccelPlan, precision: str, reason: str) -> AccelPlan:
    """A copy of ``plan`` with another precision (used when a model needs float16, not bfloat16)."""
    return replace(plan, precision=precision, reasons={**plan.reasons, "precision": reason})


# ---------------------------------------------------------------------------------------------
# The thin layer over the backend (TensorFlow or JAX)
# ---------------------------------------------------------------------------------------------

def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU model from ``/proc/cpuinfo`` (Linux), or the platform's processor string."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            cpuinfo = ""
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, flags=re.MULTILINE)
    if match:
        return match.group(1).strip()
    import platform

    return platform.processor() or platform.machine() or "CPU"


def usable_cpu_count() -> int:
    """CPU cores this process may use (respects affinity masks, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def tpu_address(environ: Mapping[str, str] | None = None) -> str | None:
    """Where a TPU is announced: ``"local"`` on a TPU VM, its address on a TPU node, else None."""
    environ = os.environ if environ is None else environ
    for name in ("COLAB_TPU_ADDR", "TPU_NAME"):
        if environ.get(name):
            return environ[name]
    if os.path.exists("/dev/accel0"):  # a TPU VM: the chips are local devices
        return "local"
    return None


def _jax_hardware() -> Hardware:
    """The devices JAX sees: GPUs with their names and compute capabilities, TPU cores."""
    import jax

    devices = jax.devices()
    gpus = []
    for device in devices:
        if device.platform != "gpu":
            continue
        capability = getattr(device, "compute_capability", None)
        parsed = None
        if capability:
            major, _, minor = str(capability).partition(".")
            if major.isdigit() and minor.isdigit():
                parsed = (int(major), int(minor))
        gpus.append(GpuInfo(str(device.device_kind), parsed))
    tpu_cores = sum(1 for device in devices if device.platform == "tpu")
    return Hardware(gpus=tuple(gpus), tpu_cores=tpu_cores, cpu_name=cpu_name(),
                    cpu_count=usable_cpu_count())


def detect_hardware(environ: Mapping[str, str] | None = None) -> Hardware:
    """Describe the devices the Keras backend sees here, and the cluster ``TF_CONFIG`` names.

    On TensorFlow this imports TensorFlow and does not connect to a TPU (that happens in
    :func:`configure`); a TPU announced by the environment counts as 8 cores until then. On JAX
    it asks ``jax.devices()`` (``TF_CONFIG`` plays no part there).
    """
    from course_lib.accel.backend import check_supported

    if check_supported() == "jax":
        return _jax_hardware()
    from course_lib.runtime import import_tensorflow

    environ = os.environ if environ is None else environ
    tf = import_tensorflow()
    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except Exception:  # details are optional
            details = {}
        gpus.append(GpuInfo(details.get("device_name", device.name), details.get("compute_capability")))
    # Physical, not logical, devices: listing logical devices starts TensorFlow's runtime, after
    # which MultiWorkerMirroredStrategy can no longer be created in this process.
    tpu_cores = len(tf.config.list_physical_devices("TPU"))
    if not tpu_cores and tpu_address(environ) is not None:
        tpu_cores = 8  # a Colab or Kaggle TPU v2-8/v3-8 until the system is initialized
    return Hardware(
        gpus=tuple(gpus),
        tpu_cores=tpu_cores,
        cluster=parse_tf_config(environ.get("TF_CONFIG")),
        cpu_name=cpu_name(),
        cpu_count=usable_cpu_count(),
    )


def enable_memory_growth() -> None:
    """Let each GPU's memory grow as needed instead of the backend taking it all at the first op.

    On JAX this sets ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` unless it is set already; JAX reads
    it when it first touches the GPU, so later calls change nothing.
    """
    from course_lib.accel.backend import configured_backend

    if configured_backend() == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        return
    from course_lib.runtime import import_tensorflow

    tf = import_tensorflow()
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU is already initialized: keep the earlier setting
            pass


@dataclass(frozen=True)
class JaxDistribution:
    """On JAX, what stands where TensorFlow has a ``tf.distribute`` strategy.

    ``distribution`` is a ``keras.distribution.DataParallel`` over ``devices`` for the
    ``data_parallel`` kind, None for ``default``. :meth:`scope` makes it the distribution Keras
    uses for the variables built and the batches fed inside the block (``fit`` too).
    """

    kind: str
    distribution: Any = None
    devices: tuple[Any, ...] = ()

    @property
    def num_replicas_in_sync(self) -> int:
        return max(1, len(self.devices)) if self.distribution is not None else 1

    def scope(self) -> Any:
        import contextlib

        return self.distribution.scope() if self.distribution is not None else contextlib.nullcontext(self)


def make_jax_distribution(kind: str) -> JaxDistribution:
    """The :class:`JaxDistribution` of that kind: ``default`` or ``data_parallel`` (all devices)."""
    if kind == "default":
        return JaxDistribution("default")
    if kind != "data_parallel":
        raise CourseError(f"strategy {kind!r} does not exist on JAX; use 'default' or 'data_parallel'")
    import jax
    import keras

    devices = tuple(jax.devices())
    return JaxDistribution("data_parallel", keras.distribution.DataParallel(devices=list(devices)),
                           devices)


def make_strategy(kind: str, environ: Mapping[str, str] | None = None) -> Any:
    """Build the ``tf.distribute`` strategy of that kind (see :data:`STRATEGIES`); on JAX, the
    :class:`JaxDistribution`."""
    from course_lib.accel.backend import configured_backend

    if configured_backend() == "jax":
        return make_jax_distribution(kind)
    from course_lib.runtime import import_tensorflow

    tf = import_tensorflow()
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "tpu":
        address = tpu_address(environ) or "local"
        # "local" on a TPU VM (Colab and Kaggle today), a grpc address on an older TPU node
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise CourseError(f"unknown strategy {kind!r}; use one of: {', '.join(STRATEGIES)}")


_strategies: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class Accelerator:
    """The plan in force and the ``tf.distribute`` strategy built for it (on JAX, a :class:`JaxDistribution`).

    Build models inside :meth:`scope` (it applies the precision policy and the strategy), and
    pass :meth:`compile_options` to ``model.compile``::

        accelerator = course_lib.accel.configure()
        print(accelerator.summary())
        with accelerator.scope():
            model = build_model()
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"], **accelerator.compile_options())
    """

    plan: AccelPlan
    strategy: Any

    @property
    def replicas(self) -> int:
        """How many copies of the model train side by side (GPUs, TPU cores or workers)."""
        return int(self.strategy.num_replicas_in_sync)

    def scope(self, precision: str | None = None) -> Any:
        """A ``with`` block that builds models with the plan's precision and strategy.

        On JAX with the ``data_parallel`` strategy, call ``fit`` inside the block too: Keras
        splits the batches along the device mesh only while the distribution is in force.
        The Keras dtype policy is set on entry and restored on exit, so models built after the
        block are float32 again. ``precision`` overrides the plan's policy for this block.
        """
        import contextlib

        from course_lib.accel.backend import import_keras

        keras = import_keras()

        @contextlib.contextmanager
        def block() -> Any:
            previous = keras.config.dtype_policy()
            keras.config.set_dtype_policy(precision or self.plan.precision)
            try:
                with self.strategy.scope():
                    yield self.strategy
            finally:
                keras.config.set_dtype_policy(previous)

        return block()

    def compile_options(self) -> dict[str, Any]:
        """``jit_compile`` and ``steps_per_execution`` for ``model.compile(**...)``."""
        return {"jit_compile": self.plan.jit_compile,
                "steps_per_execution": self.plan.steps_per_execution}

    def summary(self) -> str:
        """The plan's table, plus how many replicas train in step."""
        return self.plan.summary() + f"\nreplicas             {self.replicas}"


def configure(
    *,
    precision: str = "auto",
    strategy: str = "auto",
    jit_compile: bool | str = "auto",
    steps_per_execution: int | str = "auto",
    memory_growth: bool = True,
    verbose: bool = False,
) -> Accelerator:
    """Detect the devices, choose every setting and build the strategy; print the plan if ``verbose``.

    Each argument is ``"auto"`` (the rules in this module's docstring) or an explicit choice:
    ``precision`` in :data:`PRECISIONS`, ``strategy`` in :data:`STRATEGIES`, ``jit_compile`` a
    bool, ``steps_per_execution`` a whole number. ``memory_growth`` lets GPU memory grow as needed
    (it must happen before the GPU's first use; later calls keep the earlier setting).

    Call it again with other arguments to change settings; a distributed strategy is built once
    per process and then reused (TensorFlow cannot start a second multi-worker or TPU runtime).
    """
    from course_lib.accel.backend import check_supported

    backend = check_supported()
    if memory_growth:
        enable_memory_growth()
    hardware = detect_hardware()
    plan = plan_for(hardware, precision=precision, strategy=strategy, jit_compile=jit_compile,
                    steps_per_execution=steps_per_execution, backend=backend)
    key = (backend, plan.strategy)
    if key not in _strategies:
        _strategies[key] = make_strategy(plan.strategy)
    built = _strategies[key]
    if plan.strategy == "tpu" and backend == "tensorflow":
        real_cores = int(built.num_replicas_in_sync)
        plan = replace(plan, hardware=replace(hardware, tpu_cores=real_cores))
    accelerator = Accelerator(plan=plan, strategy=built)
    if verbose:
        print(accelerator.summary())
    return accelerator
