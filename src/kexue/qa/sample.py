"""A small synthetic Chinese reading-comprehension set in the DGCNN format, the stand-in when the real data is
absent, in the layout data/raw/qa/ has:

    OUT/train.json          [{id, question, passages: [{passage, answer}]}], every passage labelled ("" = none)
    OUT/test.json           the same format; about half its entries carry no 'answer' fields, as a real test file
    OUT/qid_answer_expand   qid<TAB>standard answer<TAB>alt1|alt2… for the test questions (the metric's gold)

Six fact templates over invented entities (a country's capital, a book's author, a city's province, a person's
dynasty, a mountain's height, and the members of a group, a multi-entity answer written with spaces like SogouQA's
'巴西 俄罗斯 印度 中国 南非'). Entities are made up and never shared between train and test, so answering means
reading the passages, not remembering facts. Each question gets 1-3 passages stating the answer in different
words, the rest background about the subject or the same fact about another subject (labelled ""); one question
in five also has a passage asserting a wrong answer, so voting over passages matters, and half the group
questions list the members as 'A、B和C' in a passage labelled "", as the real SogouQA file does.

    python -m kexue.qa.sample OUT_DIR [--seed 0] [--n-train 2000] [--n-test 200] [--n-passages 5]
"""
from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..core import io

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯董萧程曹袁邓"
            "许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建志宇浩然嘉怡欣泽轩晨博思婷涵睿俊豪雪琳佳颖凯"
SYLLABLES = "阿巴卡达伊库马纳苏塔萨拉克斯尼乌奥蒙图维贝佩洛莫索托瓦泽基勒菲格哈"
PLACE = "安宁华泰和平昌兴清远永康嘉丰瑞德福春江林湖云海新隆盛祥通"
TITLE = "风云山海月夜春秋雪花梦城河星光影长歌远行人间故乡雨声灯火"
DYNASTIES = {"秦朝": ["秦", "秦代"], "汉朝": ["汉", "汉代"], "晋朝": ["晋", "晋代"], "隋朝": ["隋", "隋代"],
             "唐朝": ["唐", "唐代"], "宋朝": ["宋", "宋代"], "元朝": ["元", "元代"], "明朝": ["明", "明代"],
             "清朝": ["清", "清代"]}
NUMBERS = "零一二三四五六七八九"
PREFIXES = ["", "", "", "答：", "网友回答：", "最佳答案：", "百科：", "【问答】"]
SUFFIXES = ["", "", "", "...", "更多内容请点击查看。", " 相关问题："]


def _name(rng, taken, make, tries=1000) -> str:
    for _ in range(tries):
        name = make()
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("the invented-name pool is exhausted; ask for fewer questions")


def _chars(rng, pool, lo, hi) -> str:
    return "".join(rng.choice(pool) for _ in range(rng.randint(lo, hi)))


def _person(rng, taken) -> str:
    return _name(rng, taken, lambda: rng.choice(SURNAMES) + _chars(rng, GIVEN, 1, 2))


class Relation(NamedTuple):
    """`make(rng, taken)` invents (subject, answer, accepted answers). In templates {s} is the subject, {a} the
    answer; background passages mention only the subject, `wrong` asserts {w}, another subject's answer."""
    make: Callable
    weight: int
    questions: list[str]
    positive: list[str]
    background: list[str]
    wrong: str | None


def _capital(rng, taken):
    country = _name(rng, taken, lambda: _chars(rng, SYLLABLES, 2, 3) + rng.choice(["国", "尼亚", "斯坦", "兰", "利亚"]))
    suffix = rng.choice(["城", "堡", "港", ""])
    city = _name(rng, taken, lambda: _chars(rng, SYLLABLES, 2, 3) + suffix)
    return country, city, [city] + ([city[:-1]] if suffix else [])


def _author(rng, taken):
    book = _name(rng, taken, lambda: "《" + _chars(rng, TITLE, 2, 4) + "》")
    person = _person(rng, taken)
    return book, person, [person]


def _province(rng, taken):
    city = _name(rng, taken, lambda: _chars(rng, PLACE, 2, 2) + rng.choice(["市", "县"]))
    taken.add(city[:2] + "省")               # '安宁市' in '安宁省' would give the answer away
    province = _name(rng, taken, lambda: _chars(rng, PLACE, 2, 2) + "省")
    return city, province, [province, province[:-1]]


def _dynasty(rng, taken):
    dynasty = rng.choice(list(DYNASTIES))
    return _person(rng, taken), dynasty, [dynasty, *DYNASTIES[dynasty]]


def _height(rng, taken):
    mountain = _name(rng, taken, lambda: _chars(rng, PLACE, 1, 2) + rng.choice(["山", "峰", "岭"]))
    n = rng.randint(300, 6000)
    return mountain, f"{n}米", [f"{n}米", str(n), f"海拔{n}米"]


def _group(rng, taken):
    k = rng.randint(3, 5)
    group = _name(rng, taken, lambda: _chars(rng, PLACE, 2, 2) + NUMBERS[k] + rng.choice(["杰", "友", "贤", "子"]))
    members = [_person(rng, taken) for _ in range(k)]
    return group, " ".join(members), [" ".join(members), "".join(members)]


RELATIONS = {
    "capital": Relation(make=_capital, weight=3,
                    questions=["{s}的首都是哪里", "{s}的首都是哪个城市？", "{s}首都叫什么", "请问{s}的首都在哪"],
                    positive=["{s}的首都是{a}，也是该国最大的城市。", "{a}是{s}的首都，位于国土中部。",
                              "{s}的政治中心在首都{a}，那里有许多古老的建筑。", "作为{s}的首都，{a}人口超过百万。"],
                    background=["{s}位于大陆西部，气候温和，农业发达。", "{s}的官方语言有两种，货币单位是元。",
                                "{s}是一个历史悠久的国家，每年吸引大量游客。"],
                    wrong="很多人误以为{s}的首都是{w}，其实这种说法并不准确。"),
    "author": Relation(make=_author, weight=3,
                   questions=["{s}的作者是谁", "{s}是谁写的？", "{s}这本书的作者是哪位", "谁创作了{s}"],
                   positive=["{s}是{a}的代表作之一，出版后广受好评。", "{a}创作了长篇小说{s}。",
                             "作家{a}在四十岁时写下了{s}，讲述了一个家族的故事。", "{s}，作者{a}，共三十章。"],
                   background=["{s}讲述了一个发生在江南小镇的故事。", "{s}曾被改编成电视剧，收视率很高。",
                               "{s}全书分为上下两部，语言朴实。"],
                   wrong="有读者以为{s}出自{w}之手，但这是误传。"),
    "province": Relation(make=_province, weight=3,
                     questions=["{s}属于哪个省", "{s}在哪个省？", "{s}是哪个省的", "请问{s}归哪个省管"],
                     positive=["{s}隶属于{a}，是该省的交通枢纽。", "{s}位于{a}东部，依山傍水。",
                               "{a}下辖多个市县，其中包括{s}。", "{s}是{a}的一个县级行政区。"],
                     background=["{s}物产丰富，特产有茶叶和竹笋。", "{s}的人口约有五十万，近年发展很快。",
                                 "{s}有一条古街，保存了许多老房子。"],
                     wrong="网上有人说{s}属于{w}，这个说法是错的。"),
    "dynasty": Relation(make=_dynasty, weight=2,
                    questions=["{s}是哪个朝代的人", "{s}生活在什么朝代？", "{s}是哪朝的"],
                    positive=["{s}是{a}著名的诗人，留下了许多名篇。", "{a}时期的{s}曾经担任地方官员。",
                              "{s}，{a}人，以书法闻名于世。"],
                    background=["{s}一生喜爱游历，写过不少游记。", "{s}的故居如今是一座纪念馆。",
                                "{s}年少时家境贫寒，刻苦读书。"],
                    wrong="有人把{s}当成{w}的人，其实弄错了。"),
    "height": Relation(make=_height, weight=2,
                   questions=["{s}有多高", "{s}海拔多少米？", "{s}的高度是多少"],
                   positive=["{s}主峰海拔{a}，是当地最高的山。", "{s}高{a}，登顶大约需要五个小时。",
                             "据测量，{s}的海拔为{a}。"],
                   background=["{s}风景秀丽，山上有一座古寺。", "{s}是当地有名的旅游景点，春天开满杜鹃花。",
                               "{s}上的云海十分壮观。"],
                   wrong="旧资料记载{s}高{w}，这个数据已经过时。"),
    "group": Relation(make=_group, weight=2,
                  questions=["{s}指的是哪{k}个人", "{s}是哪几位？", "{s}都有谁"],
                  positive=["{s}指的是{a}，他们都出身名门。", "所谓{s}，就是{a}。", "{s}：{a}，合称{s}。"],
                  background=["{s}的故事在民间流传很广。", "{s}之间的友谊被后人传为佳话。",
                              "关于{s}的说法，各地略有不同。"],
                  wrong=None),
}


def _decorate(rng, text: str) -> str:
    return rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)


def make_entry(rng, qid: str, relation: str, fact, pool: list, n_passages: int) -> tuple[dict, list[str]]:
    """One question with n_passages labelled passages, and its accepted answers. `pool` holds other facts of the
    relation, for passages about another subject."""
    spec = RELATIONS[relation]
    subject, answer, alternatives = fact
    k = len(answer.split())
    question = rng.choice(spec.questions).format(s=subject, k=NUMBERS[k])
    n_pos = min(n_passages, rng.choices([1, 2, 3], [0.45, 0.35, 0.2])[0])
    passages = [{"passage": _decorate(rng, t.format(s=subject, a=answer)), "answer": answer}
                for t in rng.sample(spec.positive, n_pos)]
    negatives = []
    wrong = [f[1] for f in pool if answer not in f[1] and f[1] not in answer]
    if spec.wrong and wrong and n_pos >= 2 and rng.random() < 0.2:
        negatives.append(spec.wrong.format(s=subject, w=rng.choice(wrong)))
    if relation == "group" and rng.random() < 0.5:
        *head, last = answer.split()
        negatives.append(f"{subject}是{'、'.join(head)}和{last}的合称。")
    for _ in range(50):
        if n_pos + len(negatives) >= n_passages:
            break
        if pool and rng.random() < 0.5:
            other_subject, other_answer, _ = rng.choice(pool)
            text = rng.choice(spec.positive).format(s=other_subject, a=other_answer)
        else:
            text = rng.choice(spec.background).format(s=subject)
        # an invented name may hide inside another ('王伟' in '王伟明'): such a passage would be mislabelled
        if answer not in text and not any(part in text for part in answer.split()):
            negatives.append(text)
    passages += [{"passage": _decorate(rng, t), "answer": ""} for t in negatives[:n_passages - n_pos]]
    rng.shuffle(passages)
    return {"id": qid, "question": question, "passages": passages}, alternatives


def make_split(rng, taken: set, n: int, first_id: int, n_passages: int) -> tuple[list, list]:
    names, weights = list(RELATIONS), [RELATIONS[r].weight for r in RELATIONS]
    relations = [names[i % len(names)] if i < len(names) else rng.choices(names, weights)[0] for i in range(n)]
    facts = {r: [RELATIONS[r].make(rng, taken) for _ in range(relations.count(r) + 3)] for r in names}
    entries, gold = [], []
    for i, relation in enumerate(relations):
        fact, others = facts[relation][0], facts[relation][1:]
        facts[relation] = others + [fact]          # each fact asked once; the spare three only appear as distractors
        entry, alternatives = make_entry(rng, str(first_id + i), relation, fact, others, n_passages)
        entries.append(entry)
        gold.append((entry["id"], fact[1], alternatives))
    return entries, gold


def generate(out_dir, seed: int = 0, n_train: int = 2000, n_test: int = 200, n_passages: int = 5) -> dict:
    """Write train.json, test.json and qid_answer_expand under out_dir; returns {file: count}. Deterministic for
    a seed."""
    if n_passages < 1:
        raise ValueError("n_passages must be at least 1")
    out_dir, rng, taken = Path(out_dir), random.Random(f"kexue-qa-sample-{seed}"), set()
    train, _ = make_split(rng, taken, n_train, 100000, n_passages)
    test, gold = make_split(rng, taken, n_test, 900000, n_passages)
    for entry in test:
        if rng.random() < 0.5:       # a real test file has no answers; keep some so readers handle both
            entry["passages"] = [{"passage": p["passage"]} for p in entry["passages"]]
    io.write_text(out_dir / "train.json", json.dumps(train, ensure_ascii=False, indent=1) + "\n")
    io.write_text(out_dir / "test.json", json.dumps(test, ensure_ascii=False, indent=1) + "\n")
    io.write_text(out_dir / "qid_answer_expand", "".join(f"{q}\t{a}\t{'|'.join(alts)}\n" for q, a, alts in gold))
    return {"train.json": len(train), "test.json": len(test), "qid_answer_expand": len(gold)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m kexue.qa.sample", description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--n-passages", type=int, default=5)
    a = p.parse_args(argv)
    for name, n in generate(a.out_dir, a.seed, a.n_train, a.n_test, a.n_passages).items():
        print(f"{a.out_dir}/{name}: {n} questions")


if __name__ == "__main__":
    main()
