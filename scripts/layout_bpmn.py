"""Regenerate the BPMNDI diagram of a procedure file from its process model.

Usage: .venv/bin/python scripts/layout_bpmn.py processes/hearing.bpmn [more.bpmn ...]

The library's BPMN is written by hand for its semantics; the diagram is derived so that every file
opens readably in bpmn-js: lanes are horizontal bands in the order of the lane set, flow nodes go
left to right in columns by their longest path from the start (loops ignored), nodes sharing a lane
and a column are stacked, boundary events sit on their host's lower edge, and sequence flows are
routed orthogonally (loops run back along the top of the lane band).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}

POOL_X, LANE_X, TOP = 120, 150, 60
COL_W, ROW_H, LANE_PAD, FIRST_X = 170, 130, 40, 210
SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (110, 80)}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}


def layout(path: Path) -> None:
    tree = etree.parse(str(path), etree.XMLParser(remove_blank_text=True))
    root = tree.getroot()
    for old in root.findall("bpmndi:BPMNDiagram", NS):
        root.remove(old)
    participant = root.find("bpmn:collaboration/bpmn:participant", NS)
    process = root.find("bpmn:process", NS)
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    lane_of = {ref.text: lane.get("id") for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    nodes = {el.get("id"): el for el in process if isinstance(el.tag, str) and _local(el) in _FLOW_NODE_TAGS}
    flows = [(f.get("id"), f.get("sourceRef"), f.get("targetRef")) for f in process.iterfind("bpmn:sequenceFlow", NS)]
    boundary = {nid: el.get("attachedToRef") for nid, el in nodes.items() if _local(el) == "boundaryEvent"}

    column = _columns(nodes, flows, boundary)
    # Rows: nodes of one lane and one column stacked in document order.
    rows: dict[str, int] = {}
    used: dict[tuple[str, int], int] = defaultdict(int)
    for nid in nodes:
        if nid in boundary:
            continue
        key = (lane_of[nid], column[nid])
        rows[nid] = used[key]
        used[key] += 1
    lane_rows = {lane.get("id"): max([used[k] for k in used if k[0] == lane.get("id")] or [1]) for lane in lanes}
    lane_top, y = {}, TOP
    for lane in lanes:
        lane_top[lane.get("id")] = y
        y += lane_rows[lane.get("id")] * ROW_H + LANE_PAD
    height = y - TOP
    width = FIRST_X + (max(column.values()) + 1) * COL_W + 60

    bounds: dict[str, tuple[int, int, int, int]] = {}
    for nid, el in nodes.items():
        if nid in boundary:
            continue
        w, h = SIZES[_kind(el)]
        cx = LANE_X + FIRST_X + column[nid] * COL_W
        cy = lane_top[lane_of[nid]] + LANE_PAD // 2 + rows[nid] * ROW_H + ROW_H // 2
        bounds[nid] = (cx - w // 2, cy - h // 2, w, h)
    for nid, host in boundary.items():
        hx, hy, hw, hh = bounds[host]
        bounds[nid] = (hx + hw - 46, hy + hh - 18, 36, 36)

    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"BPMNDiagram_{process.get('id')}")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"BPMNPlane_{process.get('id')}",
                             bpmnElement=root.find("bpmn:collaboration", NS).get("id"))
    _shape(plane, participant.get("id"), (POOL_X, TOP, width + LANE_X - POOL_X, height), horizontal=True)
    for lane in lanes:
        lid = lane.get("id")
        _shape(plane, lid, (LANE_X, lane_top[lid], width, lane_rows[lid] * ROW_H + LANE_PAD), horizontal=True)
    for nid, el in nodes.items():
        _shape(plane, nid, bounds[nid], marker=_local(el) == "exclusiveGateway")
    for fid, src, dst in flows:
        points = _route(bounds[src], bounds[dst], src in boundary, column.get(dst, 0) <= column.get(src, 0),
                        lane_top[lane_of[src]], lane_top[lane_of[dst]])
        edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
        for px, py in points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(px), y=str(py))
    etree.indent(tree, space="  ")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)


_FLOW_NODE_TAGS = EVENTS | GATEWAYS | {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess",
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _kind(el: etree._Element) -> str:
    tag = _local(el)
    return "event" if tag in EVENTS else "gateway" if tag in GATEWAYS else "activity"


def _columns(nodes: dict, flows: list, boundary: dict[str, str]) -> dict[str, int]:
    """Longest-path layering over the flow graph with loop-closing edges removed (DFS from the start)."""
    succ: dict[str, list[str]] = defaultdict(list)
    for _fid, src, dst in flows:
        succ[boundary.get(src, src)].append(dst)
    starts = [n for n, el in nodes.items() if _local(el) == "startEvent"]
    back, state = set(), {}

    def visit(n: str) -> None:
        state[n] = 1
        for m in succ[n]:
            if state.get(m) == 1:
                back.add((n, m))
            elif m not in state:
                visit(m)
        state[n] = 2

    for s in starts:
        visit(s)
    column = {n: 0 for n in nodes}
    order = _topological(nodes, succ, back, boundary)
    for n in order:
        for m in succ[n]:
            if (n, m) not in back:
                column[m] = max(column[m], column[n] + 1)
    for n, host in boundary.items():
        column[n] = column[host]
    return column


def _topological(nodes: dict, succ: dict, back: set, boundary: dict) -> list[str]:
    indeg = {n: 0 for n in nodes if n not in boundary}
    for n in indeg:
        for m in succ[n]:
            if (n, m) not in back and m in indeg:
                indeg[m] += 1
    ready = [n for n, d in indeg.items() if d == 0]
    out = []
    while ready:
        n = ready.pop(0)
        out.append(n)
        for m in succ[n]:
            if (n, m) not in back and m in indeg:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
    return out


def _shape(plane: etree._Element, element: str, b: tuple[int, int, int, int], horizontal: bool = False, marker: bool = False) -> None:
    attrs = {"id": f"{element}_di", "bpmnElement": element}
    if horizontal:
        attrs["isHorizontal"] = "true"
    if marker:
        attrs["isMarkerVisible"] = "true"
    shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", **attrs)
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(b[0]), y=str(b[1]), width=str(b[2]), height=str(b[3]))


Box = tuple[int, int, int, int]


def _route(s: Box, t: Box, from_boundary: bool, backwards: bool, src_lane_top: int, dst_lane_top: int) -> list[tuple[int, int]]:
    sx, sy, sw, sh = s
    tx, ty, tw, th = t
    scx, scy, tcx, tcy = sx + sw // 2, sy + sh // 2, tx + tw // 2, ty + th // 2
    if from_boundary:
        below = sy + sh + 20
        if tx > sx + sw and tcy > sy + sh:
            return [(scx, sy + sh), (scx, tcy), (tx, tcy)]
        if tx > sx + sw:
            return [(scx, sy + sh), (scx, below), (tx - 20, below), (tx - 20, tcy), (tx, tcy)]
        return [(scx, sy + sh), (scx, below), (tcx, below), (tcx, ty + th)]
    if backwards:
        lane_y = min(src_lane_top, dst_lane_top) + 8
        return [(scx, sy), (scx, lane_y), (tcx, lane_y), (tcx, ty)]
    if scy == tcy:
        return [(sx + sw, scy), (tx, tcy)]
    mid = tx - 25
    return [(sx + sw, scy), (mid, scy), (mid, tcy), (tx, tcy)]


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        layout(Path(arg))
