"""``mlsysim carbon`` and ``mlsysim cost``: the energy, emissions and water of a job
(SustainabilityModel) and what it costs owned or rented (EconomicsModel), in the region given.

    mlsysim carbon H100_Cluster_1024 --duration 30d --region France
    mlsysim carbon H100_Cluster_1024 --model Llama3_70B --tokens 15T --tp 8 --pp 4 --zero 1 \\
        --region Quebec --utilization 0.6 --json
    mlsysim cost --gpus 64 --gpu H100 --duration 14d --unit-cost 30000 --lifetime 4y
    mlsysim cost DGX_H100 --tokens-per-second 2500 --region California
    mlsysim carbon --list-regions

The job is SYSTEM (a catalog device, node or fleet) or ``--gpus N --gpu NAME`` (a fleet built as
``mlsysim train`` builds it), running for ``--duration`` or for the time ``DistributedModel``
takes to train ``--model`` on ``--tokens`` (with ``--tp``, ``--pp``, ... as in ``mlsysim
train``). Durations take d, h, min, s and the shorthands w (weeks) and y (years); token counts
a suffix k, M, B/G or T (15T = 15e12). Money options read a bare number in the unit their help
states. Solver messages name the command-line option to pass, not the Python parameter.
"""

from __future__ import annotations

import argparse
import re

from .cli_serving import unit_interval
from .cli_training import RECOMPUTE

#: the solvers' defaults, stated in --help (tests check they match the solvers' constants)
CARBON_REGION, COST_REGION = "World_Average", "US_Average"

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN_SCALE = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
_TOKENS = re.compile(rf"^\s*({_NUMBER})\s*([kKMBGT]?)\s*$")
_SHORT_TIME = re.compile(rf"^\s*({_NUMBER})\s*(y|yr|w|wk)\s*$")

#: solver parameter → command-line option (messages are rewritten to name the option)
FLAGS = {"duration": "--duration", "tokens": "--tokens", "tokens_per_second":
         "--tokens-per-second", "utilization": "--utilization", "pue": "--pue",
         "idle_fraction": "--idle-fraction", "device_power": "--device-power",
         "host_power": "--host-power", "carbon_intensity": "--carbon-intensity",
         "wue": "--wue", "embodied_per_device": "--embodied",
         "device_lifetime": "--device-lifetime", "electricity_price": "--electricity-price",
         "unit_cost": "--unit-cost", "lifetime": "--lifetime",
         "maintenance_fraction": "--maintenance", "price_per_hour": "--price-per-hour",
         "zero_stage": "--zero", "activation_recomputation": "--recompute",
         "tp_size": "--tp", "pp_size": "--pp", "ep_size": "--ep",
         "microbatch_count": "--microbatches", "batch_size": "--batch-size",
         "seq_len": "--seq-len", "region": "--region"}
#: training options (None unless given; ``mlsysim train``'s defaults fill in the rest)
_TRAIN_DEFAULTS = {"tp": 1, "pp": 1, "ep": 1, "zero": 0, "microbatches": None,
                   "recompute": "none", "batch_size": None, "seq_len": None,
                   "precision": "bf16"}


def add_parser(sub, positive_int, fraction, precisions) -> None:
    ca = sub.add_parser("carbon", help="energy, emissions and water of a job in a region "
                                       "(SustainabilityModel)")
    _job_arguments(ca, positive_int, precisions, CARBON_REGION)
    ca.add_argument("--carbon-intensity", default=None,
                    help="override the grid's, e.g. '57 g/kWh' (a bare number: g/kWh)")
    ca.add_argument("--wue", default=None,
                    help="on-site water per kWh of IT energy, e.g. '0.2 L/kWh' (bare: L/kWh)")
    ca.add_argument("--embodied", default=None,
                    help="embodied carbon per device, e.g. '318 kg' (bare: kg), amortised over "
                         "--device-lifetime")
    ca.add_argument("--device-lifetime", default=None, help="default 5y")
    ca.add_argument("--json", action="store_true", help="machine-readable output")

    co = sub.add_parser("cost", help="owned TCO and cloud rental of a job, $ per million tokens "
                                     "(EconomicsModel)")
    _job_arguments(co, positive_int, precisions, COST_REGION)
    co.add_argument("--tokens-per-second", default=None,
                    help="serving throughput for $ per million tokens served, e.g. 2500 "
                         "(token/s); without --duration one hour is costed")
    co.add_argument("--electricity-price", default=None,
                    help="e.g. '0.08 USD/kWh' (bare: USD/kWh); default: the region's sourced "
                         "industrial price")
    co.add_argument("--unit-cost", default=None,
                    help="capital per device, e.g. '30000 USD' (bare: USD); default: the "
                         "catalog's list price where it has one")
    co.add_argument("--lifetime", default=None, help="amortisation period (default 5y)")
    co.add_argument("--maintenance", type=float, default=None,
                    help="maintenance per year as a fraction of capital (default 0)")
    co.add_argument("--price-per-hour", default=None,
                    help="cloud price per device-hour, e.g. '2.5 USD/h' (bare: USD/h); "
                         "default: the catalog's dated list price")
    co.add_argument("--json", action="store_true", help="machine-readable output")


def _job_arguments(p, positive_int, precisions, region: str) -> None:
    # '--duration -30d' is a (negative) value, not an option, so that the refusal names it;
    # argparse's own pattern only admits plain negative numbers such as -30.
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.add_argument("system", nargs="?", default=None, metavar="SYSTEM",
                   help="a catalog device, node or fleet, e.g. H100_Cluster_1024 (or --gpus)")
    p.add_argument("--gpus", type=positive_int, default=None,
                   help="build a fleet of this many GPUs (with --gpu), as mlsysim train does")
    p.add_argument("--gpu", default=None, help="with --gpus: the accelerator, e.g. H100")
    p.add_argument("--fabric", default=None, help="with --gpus: the inter-node fabric")
    p.add_argument("--duration", default=None, help="how long the job runs, e.g. 30d, 36h, 1y")
    p.add_argument("--model", default=None,
                   help="train this model (with --tokens): the duration is DistributedModel's "
                        "time to train")
    p.add_argument("--tokens", default=None,
                   help="tokens trained (or processed in --duration), e.g. 15T or '300 Gtoken'")
    train = p.add_argument_group("training layout (with --model, as in mlsysim train)")
    train.add_argument("--tp", type=positive_int, default=None)
    train.add_argument("--pp", type=positive_int, default=None)
    train.add_argument("--ep", type=positive_int, default=None)
    train.add_argument("--zero", type=int, default=None, help="ZeRO stage 0-3")
    train.add_argument("--microbatches", type=positive_int, default=None)
    train.add_argument("--recompute", choices=RECOMPUTE, default=None)
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help="global batch in sequences (default: 2 per device)")
    train.add_argument("--seq-len", type=positive_int, default=None)
    train.add_argument("--precision", choices=precisions, default=None, help="default bf16")
    p.add_argument("--region", default=None,
                   help=f"a grid of the catalog (default {region}; see --list-regions)")
    p.add_argument("--list-regions", action="store_true",
                   help="list the catalog's regions with their sourced figures and exit")
    p.add_argument("--utilization", type=unit_interval, default=None,
                   help="device utilisation in [0, 1] for the linear power model (default 1)")
    p.add_argument("--idle-fraction", type=float, default=None,
                   help="idle power as a fraction of TDP (default 0.1, an assumption)")
    p.add_argument("--device-power", default=None,
                   help="measured average power per device, e.g. '330 W' (replaces the model)")
    p.add_argument("--host-power", default=None, help="host power per node, e.g. '4.6 kW'")
    p.add_argument("--pue", type=float, default=None,
                   help="facility energy / IT energy, in [1, 3] (default: the region's)")


# -- reading the options ------------------------------------------------------------------------
def duration_text(text: str | None) -> str | None:
    """'5y' → '5 year', '2w' → '2 week'; anything else is left to the unit parser."""
    if text is None:
        return None
    m = _SHORT_TIME.match(text)
    if m is None:
        return text
    return f"{m.group(1)} {'year' if m.group(2).startswith('y') else 'week'}"


def tokens_of(text: str | None):
    """'15T' → 15e12, '300B' → 3e11, '1e9' → 1e9; a quantity string ('300 Gtoken') as is."""
    if text is None:
        return None
    m = _TOKENS.match(text)
    return float(m.group(1)) * _TOKEN_SCALE[m.group(2)] if m else text


def _in_unit(text: str | None, unit: str) -> str | None:
    """A bare number read in ``unit`` ('0.08' → '0.08 USD/kWh'); a quantity string as is."""
    if text is None:
        return None
    try:
        float(text)
    except ValueError:
        return text
    return f"{text.strip()} {unit}"


def cli_message(message: str) -> str:
    """A solver message with Python parameter names replaced by the options to pass."""
    names = "|".join(sorted(FLAGS, key=len, reverse=True))
    message = re.sub(rf"^({names})\b", lambda m: FLAGS[m.group(1)], message)
    message = re.sub(rf"\bpass ({names})\b", lambda m: f"pass {FLAGS[m.group(1)]}", message)
    return re.sub(rf"\b({names})=\'?([\w.]+)\'?",
                  lambda m: f"{FLAGS[m.group(1)]} {m.group(2)}", message)


def _refuse_misplaced(args) -> None:
    if args.system is None and args.gpus is None:
        raise ValueError("give SYSTEM (a catalog device, node or fleet, e.g. "
                         "H100_Cluster_1024) or --gpus N --gpu NAME; regions: --list-regions")
    if args.system is not None and args.gpus is not None:
        raise ValueError(f"give SYSTEM ({args.system[:40]!r}) or --gpus, not both")
    for flag, value in (("--gpu", args.gpu), ("--fabric", args.fabric)):
        if value is not None and args.gpus is None:
            raise ValueError(f"{flag} applies with --gpus, not with SYSTEM")
    if args.gpus is not None and args.gpu is None:
        raise ValueError("--gpus needs --gpu (e.g. --gpu H100)")
    if args.model is not None:
        if args.duration is not None:
            raise ValueError("give --duration or --model with --tokens, not both")
        if args.tokens is None:
            raise ValueError("--model needs --tokens, the tokens to train on (e.g. --tokens 15T)")
        return
    given = [k for k in _TRAIN_DEFAULTS if getattr(args, k) is not None]
    if given:
        raise ValueError(f"--{given[0].replace('_', '-')} describes a training layout: it "
                         "applies with --model MODEL --tokens N")
    if args.duration is None and getattr(args, "tokens_per_second", None) is None:
        extra = " or --tokens-per-second" if args.command == "cost" else ""
        raise ValueError(f"give --duration (e.g. 30d) or --model MODEL --tokens N{extra}")


def _fleet(args):
    """The fleet named by SYSTEM or built from --gpus/--gpu/--fabric (mlsysim train's rules)."""
    from .cli_training import fleet_of
    return fleet_of(argparse.Namespace(fleet=args.system, gpus=args.gpus, gpu=args.gpu,
                                       fabric=args.fabric))


def _job(args) -> dict:
    """The solver arguments that say what runs and for how long (shared by both commands)."""
    _refuse_misplaced(args)
    job = {"tokens": tokens_of(args.tokens)}
    if args.model is not None:
        from .cli_training import solve as train
        fleet = _fleet(args)
        layout = {k: (_TRAIN_DEFAULTS[k] if getattr(args, k) is None else getattr(args, k))
                  for k in _TRAIN_DEFAULTS}
        training = train(argparse.Namespace(
            model=args.model, fleet=args.system, gpus=args.gpus, gpu=args.gpu,
            fabric=args.fabric, overlap=0.0, virtual_stages=1, search=False, top=1, **layout))
        if not training.feasible:
            why = str(training.constraint_trace[0]) if training.constraint_trace else "it does " \
                "not fit"
            raise ValueError(f"the training layout does not fit: {why}")
        return {**job, "system": fleet, "training": training}
    system = args.system if args.gpus is None else _fleet(args)
    return {**job, "system": system, "duration": duration_text(args.duration)}


def _power(args) -> dict:
    given = {"utilization": args.utilization, "idle_fraction": args.idle_fraction,
             "device_power": _in_unit(args.device_power, "W"),
             "host_power": _in_unit(args.host_power, "W"), "pue": args.pue,
             "region": args.region}
    return {k: v for k, v in given.items() if v is not None}


def solve(args):
    """The SustainabilityResult (carbon) or EconomicsResult (cost) the options describe."""
    try:
        kwargs = {**_job(args), **_power(args)}
        if args.command == "carbon":
            from .solvers.sustainability import SustainabilityModel
            extra = {"carbon_intensity": _in_unit(args.carbon_intensity, "g/kWh"),
                     "wue": _in_unit(args.wue, "L/kWh"),
                     "embodied_per_device": _in_unit(args.embodied, "kg"),
                     "device_lifetime": duration_text(args.device_lifetime)}
            model = SustainabilityModel()
        else:
            from .solvers.economics import EconomicsModel
            if args.tokens is not None and args.tokens_per_second is not None:
                raise ValueError("give --tokens or --tokens-per-second, not both")
            tps = _in_unit(args.tokens_per_second, "token/s")
            extra = {"tokens_per_second": tps,
                     "electricity_price": _in_unit(args.electricity_price, "USD/kWh"),
                     "unit_cost": _in_unit(args.unit_cost, "USD"),
                     "lifetime": duration_text(args.lifetime),
                     "maintenance_fraction": args.maintenance,
                     "price_per_hour": _in_unit(args.price_per_hour, "USD/h")}
            model = EconomicsModel()
        kwargs.update({k: v for k, v in extra.items() if v is not None})
        result = model.solve(**kwargs)
    except (ValueError, TypeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        shown = cli_message(text)
        if shown == text:
            raise
        raise ValueError(shown) from None
    from dataclasses import replace
    return replace(result, notes=tuple(cli_message(n) for n in result.notes))


def regions() -> tuple[list[str], list[list[object]], list[dict]]:
    """Every grid of the catalog: headers, text rows and JSON records, with source keys."""
    from .catalog import Infra

    headers = ["Region", "Name", "Carbon intensity", "Source", "PUE", "WUE",
               "Electricity price"]
    rows, data = [], []
    for g in Infra.all():
        ci = float(g.carbon_intensity.to("g/kWh").magnitude)
        src = g.source_of("carbon_intensity")
        wue = None if g.wue is None else float(g.wue.to("L/kWh").magnitude)
        price = None if g.electricity_price is None else \
            float(g.electricity_price.to("USD/kWh").magnitude)
        rows.append([g.key, g.name, f"{ci:,.4g} g/kWh", src.source if src else "—",
                     f"{g.pue:g}", "—" if wue is None else f"{wue:g} L/kWh",
                     "—" if price is None else f"${price:.4g}/kWh"])
        data.append({"region": g.key, "name": g.name, "carbon_intensity_g_per_kwh": ci,
                     "carbon_intensity_source": src.source if src else None,
                     "pue": float(g.pue), "wue_l_per_kwh": wue,
                     "electricity_price_usd_per_kwh": price})
    return headers, rows, data


def output(args) -> str:
    """What ``mlsysim carbon`` / ``mlsysim cost`` prints (text, or JSON with ``--json``)."""
    from .render import TableData, dumps, render

    if args.list_regions:
        headers, rows, data = regions()
        if args.json:
            return dumps(data)
        return render(TableData(tuple(headers), tuple(tuple(r) for r in rows),
                                caption="Regions (mlsysim.Infra)"), "text")
    result = solve(args)
    if not args.json:
        return render(result, "text")
    data = result.to_dict()
    if args.command == "carbon":
        data["region_name"] = result.region_name
    else:
        data["price_sources"] = {"electricity": result.price_from,
                                 "capital": result.capex_from, "cloud": result.rental_from}
    return dumps(data)
