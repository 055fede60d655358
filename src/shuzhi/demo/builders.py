"""Builders of the departments' tables: each copies part of the true city the way one system records it."""

from __future__ import annotations

import numpy as np

from shuzhi.demo.population import INDUSTRIES, UNIT_KINDS
from shuzhi.demo.tables import Built, Context, fmt_dates, serials

SEX = np.array(["女", "男"])


def _district_names(ctx: Context, idx_district: np.ndarray) -> np.ndarray:
    return np.array([d.name for d in ctx.city.districts], dtype=object)[idx_district]


def _when(ctx: Context, start: np.ndarray, floor: str = "2000-01-01") -> np.ndarray:
    return ctx.days_between(np.maximum(start, np.datetime64(floor, "D")), ctx.today)


# -- 公安 -------------------------------------------------------------------------------------------


def psb_population(ctx: Context) -> Built:
    r = ctx.residents
    idx = np.arange(len(r))
    b = Built(len(idx))
    b.col("人员编号", serials("GA3301", len(idx), ctx.rng, 10))
    b.person(ctx, "subject", idx, name="姓名", ric="公民身份号码", id_bad=0.002)
    b.col("性别", SEX[r.male.astype(int)])
    b.col("民族", r.ethnic)
    b.col("出生日期", r.birth)
    b.col("户籍地址", r.hukou_address)
    b.col("现住址", r.address)
    b.col("联系电话", np.where(r.phone == "", None, r.phone).astype(object))
    b.col("人口状态", r.status)
    b.col("状态变更日期", r.status_date)
    b.col("登记日期", r.registered)
    return b


def psb_migration(ctx: Context) -> Built:
    r = ctx.residents
    idx = np.flatnonzero(r.previous_address != "")
    b = Built(len(idx))
    b.col("迁移编号", serials("QY", len(idx), ctx.rng))
    b.person(ctx, "subject", idx, name="姓名", ric="公民身份号码", id_bad=0.003)
    b.col("迁移类型", np.full(len(idx), "市内迁移"))
    b.col("迁出地址", r.previous_address[idx])
    b.col("迁入地址", r.address[idx])
    b.col("迁移日期", _when(ctx, r.registered[idx], "2005-01-01"))
    return b


def psb_rental(ctx: Context) -> Built:
    xihu = (
        next(i for i, d in enumerate(ctx.city.districts) if d.code == "330106")
        if any(d.code == "330106" for d in ctx.city.districts)
        else 0
    )
    r = ctx.residents
    tenants = ctx.sample(np.intersect1d(ctx.persons_alive(18, 70), np.flatnonzero(r.district == xihu)), 0.3)
    landlords = ctx.pick(ctx.persons_alive(30, 85), len(tenants))
    b = Built(len(tenants))
    b.col("登记编号", serials("XHCZ", len(tenants), ctx.rng))
    b.col("房屋地址", r.address[tenants])
    b.person(
        ctx,
        "landlord",
        landlords,
        name="出租人姓名",
        ric="出租人身份证号",
        name_rate=0.04,
        id_bad=0.015,
        id_missing=0.01,
    )
    b.person(
        ctx,
        "tenant",
        tenants,
        name="承租人姓名",
        ric="承租人身份证号",
        name_rate=0.06,
        id_bad=0.02,
        id_missing=0.02,
    )
    b.col("承租人联系电话", r.phone[tenants])
    start = _when(ctx, ctx.today - np.full(len(tenants), 3 * 365))
    b.col("起租日期", fmt_dates(start, "compact"))
    b.col("到期日期", fmt_dates(start + 365 * ctx.rng.integers(1, 4, len(tenants)), "compact"))
    return b


# -- 市场监管 ----------------------------------------------------------------------------------------


def samr_enterprises(ctx: Context) -> Built:
    e = ctx.enterprises
    idx = np.arange(len(e))
    b = Built(len(idx))
    b.firm(ctx, "subject", idx, name="企业名称", code="统一社会信用代码", code_bad=0.002)
    b.col("市场主体类型", np.array([UNIT_KINDS[k] for k in e.kind], dtype=object))
    b.person(
        ctx,
        "legal_rep",
        e.legal_rep,
        name="法定代表人",
        ric="法定代表人证件号码",
        name_rate=0.01,
        id_bad=0.003,
    )
    b.col("注册资本（万元）", e.capital)
    b.col("成立日期", e.founded)
    b.col("住所", e.address)
    b.col("行业门类", np.array([f"{INDUSTRIES[i][0]} {INDUSTRIES[i][1]}" for i in e.industry], dtype=object))
    b.col("登记机关", np.char.add(_district_names(ctx, e.district).astype(str), "市场监督管理局"))
    b.col("登记状态", e.status)
    b.col("注销吊销日期", e.status_date)
    return b


_VIOLATIONS = ("虚假宣传", "未按规定公示年度报告", "销售不合格产品", "无照经营", "食品安全违法", "价格违法")


def samr_penalties(ctx: Context) -> Built:
    e = ctx.enterprises
    idx = ctx.sample(ctx.firms(("91", "92"), active=False), 0.04)
    b = Built(len(idx))
    date = _when(ctx, e.founded[idx], "2019-01-01")
    year = date.astype("datetime64[Y]").astype(int) + 1970
    b.col(
        "行政处罚决定书文号",
        np.array([f"杭市监处罚〔{y}〕{k + 1}号" for k, y in enumerate(year)], dtype=object),
    )
    b.firm(
        ctx,
        "subject",
        idx,
        name="当事人名称",
        code="统一社会信用代码",
        name_rate=0.10,
        code_bad=0.02,
        code_missing=0.03,
    )
    b.person(ctx, "legal_rep", e.legal_rep[idx], name="法定代表人", name_rate=0.05)
    b.col(
        "违法行为类型", np.array(_VIOLATIONS, dtype=object)[ctx.rng.integers(0, len(_VIOLATIONS), len(idx))]
    )
    fine = (ctx.rng.exponential(20_000, len(idx)) // 100 * 100).astype(np.int64)
    b.col("处罚内容", np.where(fine > 0, "警告、罚款", "警告").astype(object))
    b.col("罚款金额（元）", fine)
    b.col("处罚决定日期", [d.item() for d in date])
    b.col("处罚机关", np.full(len(idx), f"{ctx.city.name}市场监督管理局", dtype=object))
    return b


def samr_individuals(ctx: Context) -> Built:
    e = ctx.enterprises
    xihu = next((i for i, d in enumerate(ctx.city.districts) if d.code == "330106"), 0)
    idx = np.flatnonzero((e.kind == "92") & (e.district == xihu))
    b = Built(len(idx))
    b.firm(ctx, "subject", idx, name="字号名称", code="统一社会信用代码", name_rate=0.03, code_bad=0.01)
    b.person(
        ctx,
        "operator",
        e.legal_rep[idx],
        name="经营者姓名",
        ric="经营者身份证号",
        name_rate=0.05,
        id_bad=0.02,
        id_missing=0.02,
    )
    b.col("经营场所", e.address[idx])
    b.col("组成形式", np.where(ctx.rng.random(len(idx)) < 0.8, "个人经营", "家庭经营").astype(object))
    b.col("资金数额（万元）", e.capital[idx])
    b.col("注册日期", fmt_dates(e.founded[idx], "slash"))
    b.col("状态", e.status[idx])
    return b


# -- 税务 --------------------------------------------------------------------------------------------


def tax_taxpayers(ctx: Context) -> Built:
    e = ctx.enterprises
    idx = ctx.firms(("91", "92"), active=False)
    b = Built(len(idx))
    b.firm(ctx, "subject", idx, name="纳税人名称", code="纳税人识别号", name_rate=0.08, code_bad=0.01)
    b.person(
        ctx,
        "legal_rep",
        e.legal_rep[idx],
        name="法定代表人姓名",
        ric="法定代表人身份证件号码",
        name_rate=0.03,
        id_bad=0.01,
    )
    b.col("生产经营地址", e.address[idx])
    b.col("登记注册类型", np.where(e.kind[idx] == "92", "个体工商户", "私营有限责任公司").astype(object))
    b.col("行业", np.array([INDUSTRIES[i][1] for i in e.industry[idx]], dtype=object))
    # the tax register lags the business register: some deregistered firms are still 正常 here
    stale = (e.status[idx] == "注销") & (ctx.rng.random(len(idx)) < 0.25)
    status = np.where(e.status[idx] == "存续", "正常", np.where(e.status[idx] == "吊销", "非正常", "注销"))
    b.col("纳税人状态", np.where(stale, "正常", status).astype(object))
    b.flag("stale_record", stale)
    b.col("登记日期", fmt_dates(e.founded[idx] + ctx.rng.integers(3, 40, len(idx)), "slash"))
    b.col(
        "主管税务机关",
        np.char.add(
            f"国家税务总局{ctx.city.name}",
            np.char.add(_district_names(ctx, e.district[idx]).astype(str), "税务局"),
        ).astype(object),
    )
    return b


def tax_credit_rating(ctx: Context) -> Built:
    idx = ctx.sample(ctx.firms(("91",)), 0.7)
    b = Built(len(idx))
    b.col("评价年度", np.full(len(idx), ctx.as_of.year - 1))
    b.firm(ctx, "subject", idx, name="纳税人名称", code="纳税人识别号", name_rate=0.05, code_bad=0.005)
    grades = np.array(["A", "B", "M", "C", "D"], dtype=object)
    b.col("纳税信用级别", grades[ctx.rng.choice(5, len(idx), p=[0.25, 0.5, 0.15, 0.07, 0.03])])
    return b


# -- 人社 --------------------------------------------------------------------------------------------

_INSURANCE = ("企业职工基本养老保险", "职工基本医疗保险", "失业保险", "工伤保险")


def hrss_insurance(ctx: Context) -> Built:
    workers = ctx.sample(ctx.persons_alive(18, 60), 0.6)
    ghosts = ctx.sample(ctx.persons_dead(40), 0.3, minimum=0)  # deceased still paying in: a stale record
    people = np.concatenate([workers, ghosts])
    order = ctx.rng.permutation(len(people))
    people = people[order]
    employers = ctx.pick(ctx.firms(("91",)), len(people))
    b = Built(len(people))
    b.col("个人编号", serials("RS", len(people), ctx.rng, 10))
    b.person(
        ctx,
        "insured",
        people,
        name="姓名",
        ric="公民身份号码",
        name_rate=0.05,
        id_bad=0.015,
        id_missing=0.005,
    )
    b.col("性别", SEX[ctx.residents.male[people].astype(int)])
    b.firm(
        ctx,
        "employer",
        employers,
        name="参保单位名称",
        code="单位统一社会信用代码",
        name_rate=0.05,
        code_bad=0.01,
    )
    b.col("险种", np.array(_INSURANCE, dtype=object)[ctx.rng.integers(0, 4, len(people))])
    b.col("参保状态", np.where(ctx.rng.random(len(people)) < 0.92, "参保缴费", "暂停缴费").astype(object))
    b.col("参保日期", fmt_dates(_when(ctx, ctx.residents.birth[people] + 18 * 365, "1995-01-01"), "compact"))
    b.col(
        "缴费基数（元）",
        (ctx.rng.lognormal(8.9, 0.45, len(people)).clip(4462, 37113)).round(0).astype(np.int64),
    )
    b.flag("stale_record", np.isin(people, ghosts))
    return b


def hrss_unemployment(ctx: Context) -> Built:
    idx = ctx.sample(ctx.persons_alive(18, 60), 0.02)
    former = ctx.pick(ctx.firms(("91",), active=False), len(idx))
    b = Built(len(idx))
    b.col("登记编号", serials("SY", len(idx), ctx.rng))
    b.person(ctx, "subject", idx, name="姓名", ric="身份证号", name_rate=0.04, id_bad=0.01, id_missing=0.01)
    b.col("失业登记日期", _when(ctx, np.full(len(idx), ctx.today - 3 * 365)))
    b.firm(
        ctx,
        "former_employer",
        former,
        name="原工作单位",
        code="原单位信用代码",
        name_rate=0.08,
        code_missing=0.2,
    )
    b.col("就业困难人员", np.where(ctx.rng.random(len(idx)) < 0.15, "是", "否").astype(object))
    return b


# -- 卫健 ---------------------------------------------------------------------------------------------

_HOSPITALS = (
    "浙江大学医学院附属妇产科医院",
    "杭州市妇产科医院",
    "杭州市第一人民医院",
    "浙江省人民医院",
    "杭州市西溪医院",
)


def health_births(ctx: Context) -> Built:
    r = ctx.residents
    children = np.flatnonzero(r.age(ctx.as_of) < 8)
    mothers = ctx.pick(
        ctx.persons_alive(25, 48)[~ctx.residents.male[ctx.persons_alive(25, 48)]], len(children)
    )
    fathers = ctx.pick(
        ctx.persons_alive(25, 55)[ctx.residents.male[ctx.persons_alive(25, 55)]], len(children)
    )
    b = Built(len(children))
    b.col(
        "CSYXZMBH",
        np.char.add("R330", np.char.zfill(ctx.rng.permutation(len(children)).astype(str), 9)).astype(object),
    )
    b.person(ctx, "child", children, name="XSEXM", name_rate=0.02)
    unnamed = ctx.rng.random(len(children)) < 0.02  # 未取名: the certificate was issued before the name
    b.columns["XSEXM"] = np.where(unnamed, None, b.columns["XSEXM"]).astype(object)
    b.flaws["child.name"] = np.where(unnamed, "missing", b.flaws["child.name"]).astype(object)
    b.col("XB", SEX[r.male[children].astype(int)])
    b.col("CSRQ", r.birth[children])
    b.col("CSYY", np.array(_HOSPITALS, dtype=object)[ctx.rng.integers(0, len(_HOSPITALS), len(children))])
    b.person(ctx, "mother", mothers, name="MQXM", ric="MQSFZH", name_rate=0.03, id_bad=0.01)
    b.person(ctx, "father", fathers, name="FQXM", ric="FQSFZH", name_rate=0.03, id_bad=0.01, id_missing=0.03)
    return b


_PACKAGES = ("基础包", "高血压管理包", "糖尿病管理包", "老年人健康管理包", "孕产妇健康管理包")


def health_family_doctor(ctx: Context) -> Built:
    r = ctx.residents
    alive = ctx.persons_alive()
    older = alive[r.age(ctx.as_of)[alive] >= 60]
    signed = np.union1d(ctx.sample(alive, 0.25), ctx.sample(older, 0.6))
    ghosts = ctx.sample(ctx.persons_dead(), 0.5, minimum=0)
    people = np.concatenate([signed, ghosts])[ctx.rng.permutation(len(signed) + len(ghosts))]
    b = Built(len(people))
    b.col("签约编号", serials("JQ", len(people), ctx.rng))
    b.person(
        ctx,
        "resident",
        people,
        name="居民姓名",
        ric="身份证号",
        name_rate=0.04,
        id_bad=0.01,
        id_missing=0.005,
    )
    b.col("联系电话", r.phone[people])
    streets = np.array([ctx.city.districts[d].streets[0] for d in r.district[people]], dtype=object)
    b.col(
        "签约机构",
        np.char.add(
            np.char.add(_district_names(ctx, r.district[people]).astype(str), streets.astype(str)),
            "社区卫生服务中心",
        ).astype(object),
    )
    doctors = ctx.pick(ctx.persons_alive(28, 60), len(people))
    b.person(ctx, "doctor", doctors, name="家庭医生")
    start = _when(ctx, np.full(len(people), ctx.today - 4 * 365))
    b.col("签约日期", start)
    b.col("到期日期", start + 365)
    b.col("服务包", np.array(_PACKAGES, dtype=object)[ctx.rng.integers(0, len(_PACKAGES), len(people))])
    b.flag("stale_record", np.isin(people, ghosts))
    return b


# -- 民政 ---------------------------------------------------------------------------------------------


def ca_marriages(ctx: Context) -> Built:
    r = ctx.residents
    n = max(1, round(len(r) * 0.015))
    men = ctx.pick(ctx.persons_alive(22, 70)[r.male[ctx.persons_alive(22, 70)]], n)
    women = ctx.pick(ctx.persons_alive(20, 70)[~r.male[ctx.persons_alive(20, 70)]], n)
    b = Built(n)
    b.col(
        "登记证字号",
        np.char.add("J330100-", np.char.zfill(ctx.rng.permutation(n).astype(str), 8)).astype(object),
    )
    b.col("登记类型", np.where(ctx.rng.random(n) < 0.8, "结婚登记", "离婚登记").astype(object))
    date = _when(ctx, np.maximum(r.birth[men], r.birth[women]) + 22 * 365, "2003-10-01")
    b.col("登记日期", [d.item() for d in date])
    b.person(ctx, "husband", men, name="男方姓名", ric="男方身份证号", name_rate=0.03, id_bad=0.01)
    b.person(ctx, "wife", women, name="女方姓名", ric="女方身份证号", name_rate=0.03, id_bad=0.01)
    b.col(
        "登记机关",
        np.char.add(_district_names(ctx, r.district[men]).astype(str), "民政局婚姻登记处").astype(object),
    )
    return b


def ca_dibao(ctx: Context) -> Built:
    r = ctx.residents
    alive = ctx.persons_alive(18)
    weight = np.where(r.age(ctx.as_of)[alive] >= 60, 3.0, 1.0)
    k = max(1, round(len(alive) * 0.01))
    heads = np.sort(ctx.rng.choice(alive, size=k, replace=False, p=weight / weight.sum()))
    ghosts = ctx.sample(ctx.persons_dead(50), 0.08, minimum=0)
    people = np.concatenate([heads, ghosts])[ctx.rng.permutation(len(heads) + len(ghosts))]
    b = Built(len(people))
    b.col("救助证编号", serials("DB", len(people), ctx.rng))
    b.person(
        ctx, "head", people, name="户主姓名", ric="身份证号", name_rate=0.06, id_bad=0.02, id_missing=0.01
    )
    size = ctx.rng.integers(1, 5, len(people))
    b.col("家庭人口数", size)
    b.col("月保障金额（元）", size * 1240)
    b.col("保障起始日期", [d.item() for d in _when(ctx, np.full(len(people), ctx.today - 8 * 365))])
    b.address(ctx, "head", "家庭住址", people, stale=0.15)
    b.col("所属区县", _district_names(ctx, r.district[people]))
    b.flag("stale_record", np.isin(people, ghosts))
    return b


# -- 统计 ---------------------------------------------------------------------------------------------

_AGE_GROUPS = ((0, 14, "0-14岁"), (15, 59, "15-59岁"), (60, 200, "60岁及以上"))


def stats_population(ctx: Context) -> Built:
    r = ctx.residents
    alive = r.status == "正常"
    age = r.age(ctx.as_of)
    rows = []
    for d_idx, d in enumerate(ctx.city.districts):
        for male, sex in ((True, "男"), (False, "女")):
            for lo, hi, label in _AGE_GROUPS:
                count = int(
                    np.sum(alive & (r.district == d_idx) & (r.male == male) & (age >= lo) & (age <= hi))
                )
                rows.append((ctx.as_of.year - 1, d.code, d.name, sex, label, count))
    b = Built(len(rows))
    for k, name in enumerate(("统计年度", "行政区划代码", "区县名称", "性别", "年龄组", "常住人口数")):
        b.col(name, np.array([row[k] for row in rows], dtype=object if k not in (0, 5) else np.int64))
    return b


def stats_industrial(ctx: Context) -> Built:
    e = ctx.enterprises
    idx = ctx.firms(("91",), sections="C")
    idx = idx[e.capital[idx] >= 100]
    b = Built(len(idx))
    b.firm(ctx, "subject", idx, name="单位详细名称", code="统一社会信用代码", name_rate=0.12, code_bad=0.01)
    b.col("行业代码", np.char.add("C", ctx.rng.integers(13, 43, len(idx)).astype(str)).astype(object))
    b.col(
        "营业收入（千元）",
        (e.capital[idx] * ctx.rng.lognormal(2.5, 0.8, len(idx)) * 10).round(0).astype(np.int64) + 20_000,
    )
    b.col("从业人员期末人数", ctx.rng.integers(20, 2000, len(idx)))
    b.col("所在区县", _district_names(ctx, e.district[idx]))
    return b


# -- 科技 ---------------------------------------------------------------------------------------------

_TECH_FIELDS = ("电子信息", "生物与新医药", "先进制造与自动化", "新材料", "高技术服务", "资源与环境")


def sci_hightech(ctx: Context) -> Built:
    idx = ctx.sample(ctx.firms(("91",), sections="CIM"), 0.2)
    b = Built(len(idx))
    year = ctx.rng.integers(ctx.as_of.year - 3, ctx.as_of.year, len(idx))
    b.col("证书编号", np.array([f"GR{y}3300{k:05d}" for k, y in enumerate(year)], dtype=object))
    b.firm(ctx, "subject", idx, name="企业名称", code="统一社会信用代码", name_rate=0.05, code_bad=0.005)
    b.col("认定年份", year)
    b.col("有效期至", year + 3)
    b.col("技术领域", np.array(_TECH_FIELDS, dtype=object)[ctx.rng.integers(0, len(_TECH_FIELDS), len(idx))])
    return b


# -- 交通 ---------------------------------------------------------------------------------------------


def trans_ride_hailing(ctx: Context) -> Built:
    r = ctx.residents
    pool = ctx.persons_alive(25, 60)
    idx = ctx.sample(pool[r.male[pool] | (ctx.rng.random(len(pool)) < 0.1)], 0.03)
    platforms = ctx.pick(ctx.firms(("91",), sections="GI"), 12)
    platform = ctx.pick(platforms, len(idx))
    b = Built(len(idx))
    b.col(
        "licence_no",
        np.char.add("3301", np.char.zfill(ctx.rng.permutation(len(idx)).astype(str), 8)).astype(object),
    )
    b.person(ctx, "driver", idx, name="driver_name", ric="id_number", name_rate=0.04, id_bad=0.01)
    b.col("gender", np.where(r.male[idx], "M", "F").astype(object))
    b.firm(ctx, "platform", platform, name="platform_company", code="platform_uscc", name_rate=0.02)
    issue = _when(ctx, np.full(len(idx), ctx.today - 6 * 365))
    b.col("issue_date", issue)
    b.col("expiry_date", issue + 6 * 365)
    return b


def trans_road_transport(ctx: Context) -> Built:
    idx = ctx.firms(("91",), sections="G")
    b = Built(len(idx))
    b.col(
        "经营许可证号",
        np.array([f"浙交运管许可杭字330100{k:06d}号" for k in ctx.rng.permutation(len(idx))], dtype=object),
    )
    b.firm(ctx, "subject", idx, name="业户名称", code="统一社会信用代码", name_rate=0.06, code_bad=0.02)
    scope = ("道路普通货物运输", "道路普通货物运输、货物专用运输（集装箱）", "道路旅客运输", "机动车维修")
    b.col("经营范围", np.array(scope, dtype=object)[ctx.rng.integers(0, len(scope), len(idx))])
    issue = _when(ctx, ctx.enterprises.founded[idx], "2016-01-01")
    b.col("发证日期", issue)
    b.col("有效期至", issue + 4 * 365)
    return b


# -- 自然资源 ------------------------------------------------------------------------------------------


def nr_property(ctx: Context) -> Built:
    r, e = ctx.residents, ctx.enterprises
    owners = ctx.sample(ctx.persons_alive(22), 0.4)
    firms = ctx.sample(ctx.firms(("91",)), 0.2)
    n = len(owners) + len(firms)
    b = Built(n)
    is_person = np.arange(n) < len(owners)
    region = np.concatenate([r.district[owners], e.district[firms]])
    codes = np.array([ctx.city.districts[d].code for d in region])
    b.col(
        "不动产单元号",
        np.array(
            [
                f"{c}{z:06d}GB{p:05d}F{f:08d}"
                for c, z, p, f in zip(
                    codes,
                    ctx.rng.integers(1001, 9999, n),
                    ctx.rng.integers(1, 99999, n),
                    ctx.rng.integers(1, 10**8, n),
                    strict=True,
                )
            ],
            dtype=object,
        ),
    )
    pb, fb = Built(len(owners)), Built(len(firms))
    pb.person(ctx, "owner", owners, name="权利人", ric="证件号码", name_rate=0.03, id_bad=0.01)
    pb.address(ctx, "owner", "坐落", owners, stale=0.1)
    fb.firm(ctx, "owner", firms, name="权利人", code="证件号码", name_rate=0.04, code_bad=0.01)
    fb.col("坐落", e.address[firms])
    for col in ("权利人", "证件号码", "坐落"):
        b.col(col, np.concatenate([pb.columns[col], fb.columns[col]]))
    for key in set(pb.flaws) | set(fb.flaws):
        b.flaws[key] = np.concatenate(
            [
                pb.flaws.get(key, np.full(len(owners), "", dtype=object)),
                fb.flaws.get(key, np.full(len(firms), "", dtype=object)),
            ]
        )
    b.refs.append(
        ("owner", "person", np.where(is_person, np.concatenate([owners, np.full(len(firms), -1)]), -1))
    )
    b.refs.append(
        ("owner", "enterprise", np.where(is_person, -1, np.concatenate([np.full(len(owners), -1), firms])))
    )
    b.col("权利人类型", np.where(is_person, "个人", "企业").astype(object))
    b.col("建筑面积（平方米）", np.round(ctx.rng.lognormal(4.5, 0.4, n), 2))
    b.col(
        "规划用途",
        np.where(
            is_person, "住宅", np.array(("商业", "办公", "工业"), dtype=object)[ctx.rng.integers(0, 3, n)]
        ).astype(object),
    )
    b.col("权利类型", np.full(n, "国有建设用地使用权/房屋所有权", dtype=object))
    b.col("登记日期", _when(ctx, np.full(n, np.datetime64("2016-01-01", "D"))))
    return b


def nr_land_supply(ctx: Context) -> Built:
    idx = ctx.sample(ctx.firms(("91",), sections="CK"), 0.05)
    b = Built(len(idx))
    b.col(
        "电子监管号",
        np.char.add("3301002024B", np.char.zfill(ctx.rng.permutation(len(idx)).astype(str), 5)).astype(
            object
        ),
    )
    b.firm(ctx, "grantee", idx, name="受让单位", code="受让单位信用代码", name_rate=0.05, code_missing=0.05)
    b.col("土地坐落", ctx.enterprises.address[idx])
    b.col("面积（公顷）", np.round(ctx.rng.lognormal(0.5, 0.7, len(idx)), 4))
    b.col(
        "土地用途",
        np.array(("工业用地", "商服用地", "住宅用地"), dtype=object)[ctx.rng.integers(0, 3, len(idx))],
    )
    b.col("成交价格（万元）", np.round(ctx.rng.lognormal(8.5, 1.0, len(idx)), 2))
    b.col("签订日期", _when(ctx, np.full(len(idx), ctx.today - 5 * 365)))
    return b


# -- 住建 ---------------------------------------------------------------------------------------------


def housing_contracts(ctx: Context) -> Built:
    buyers = ctx.sample(ctx.persons_alive(22, 75), 0.04)
    developers = ctx.pick(ctx.firms(("91",), sections="K"), len(buyers))
    b = Built(len(buyers))
    b.col("合同备案号", serials("WQ", len(buyers), ctx.rng, 10))
    b.col(
        "项目名称",
        np.char.add(
            ctx.enterprises.trade_name[developers].astype(str),
            np.array(("府", "苑", "公馆", "名邸"))[ctx.rng.integers(0, 4, len(buyers))],
        ).astype(object),
    )
    b.firm(
        ctx, "developer", developers, name="开发企业", code="开发企业信用代码", name_rate=0.05, code_bad=0.005
    )
    b.person(
        ctx,
        "buyer",
        buyers,
        name="买受人姓名",
        ric="买受人证件号码",
        name_rate=0.05,
        id_bad=0.015,
        id_missing=0.005,
    )
    b.col("房屋坐落", ctx.residents.address[buyers])
    area = np.round(ctx.rng.lognormal(4.5, 0.35, len(buyers)), 2)
    b.col("建筑面积", area)
    b.col(
        "合同总价（元）",
        (area * ctx.rng.normal(38_000, 9_000, len(buyers)).clip(12_000)).round(0).astype(np.int64),
    )
    b.col("网签日期", fmt_dates(_when(ctx, np.full(len(buyers), ctx.today - 6 * 365)), "slash"))
    return b


def housing_public_rental(ctx: Context) -> Built:
    r = ctx.residents
    idx = ctx.sample(ctx.persons_alive(20), 0.008)
    ghosts = ctx.sample(ctx.persons_dead(), 0.05, minimum=0)
    people = np.concatenate([idx, ghosts])[ctx.rng.permutation(len(idx) + len(ghosts))]
    b = Built(len(people))
    b.col("保障编号", serials("GZF", len(people), ctx.rng))
    b.person(
        ctx,
        "applicant",
        people,
        name="申请人姓名",
        ric="身份证号",
        name_rate=0.06,
        id_bad=0.02,
        id_missing=0.01,
    )
    b.col("家庭人数", ctx.rng.integers(1, 5, len(people)))
    b.col("保障方式", np.where(ctx.rng.random(len(people)) < 0.4, "实物配租", "租赁补贴").astype(object))
    b.col("资格认定日期", [d.item() for d in _when(ctx, r.birth[people] + 20 * 365, "2012-01-01")])
    b.address(ctx, "applicant", "现住址", people, stale=0.2)
    b.flag("stale_record", np.isin(people, ghosts))
    return b


# -- 信用 ---------------------------------------------------------------------------------------------

_DISHONESTY = ("拒不履行法院判决", "严重违法失信（市场监管）", "重大税收违法", "拖欠农民工工资")


def credit_dishonest(ctx: Context) -> Built:
    firms = ctx.sample(ctx.firms(("91", "92"), active=False), 0.02)
    people = ctx.sample(ctx.persons_alive(22), 0.003)
    n = len(firms) + len(people)
    b = Built(n)
    fb, pb = Built(len(firms)), Built(len(people))
    fb.firm(ctx, "subject", firms, name="主体名称", code="证件号码", name_rate=0.06, code_bad=0.02)
    pb.person(ctx, "subject", people, name="主体名称", ric="证件号码", name_rate=0.04, id_bad=0.01)
    for col in ("主体名称", "证件号码"):
        b.col(col, np.concatenate([fb.columns[col], pb.columns[col]]))
    for key in set(fb.flaws) | set(pb.flaws):
        b.flaws[key] = np.concatenate(
            [
                fb.flaws.get(key, np.full(len(firms), "", dtype=object)),
                pb.flaws.get(key, np.full(len(people), "", dtype=object)),
            ]
        )
    is_firm = np.arange(n) < len(firms)
    b.refs.append(
        ("subject", "enterprise", np.where(is_firm, np.concatenate([firms, np.full(len(people), -1)]), -1))
    )
    b.refs.append(
        ("subject", "person", np.where(is_firm, -1, np.concatenate([np.full(len(firms), -1), people])))
    )
    b.col("主体类型", np.where(is_firm, "法人和非法人组织", "自然人").astype(object))
    b.col("列入原因", np.array(_DISHONESTY, dtype=object)[ctx.rng.integers(0, len(_DISHONESTY), n)])
    listed = _when(ctx, np.full(n, ctx.today - 5 * 365))
    b.col("列入日期", listed)
    removed = listed + ctx.rng.integers(180, 1500, n)
    b.col("移出日期", np.where(removed < ctx.today, removed, np.datetime64("NaT", "D")))
    b.col(
        "认定部门",
        np.array(
            (
                "杭州市中级人民法院",
                "杭州市市场监督管理局",
                "国家税务总局杭州市税务局",
                "杭州市人力资源和社会保障局",
            ),
            dtype=object,
        )[ctx.rng.integers(0, 4, n)],
    )
    return b


def credit_evaluation(ctx: Context) -> Built:
    idx = ctx.firms(("91",))
    b = Built(len(idx))
    b.firm(ctx, "subject", idx, name="企业名称", code="统一社会信用代码", name_rate=0.02)
    b.col("评价年度", np.full(len(idx), ctx.as_of.year - 1))
    score = ctx.rng.normal(760, 70, len(idx)).clip(300, 1000).round(0).astype(np.int64)
    b.col("综合评分", score)
    b.col(
        "评价等级",
        np.select([score >= 850, score >= 750, score >= 650], ["优", "良", "中"], "差").astype(object),
    )
    return b
