-- 003_vocab.sql — vocabularies (seed data, identical on every node).
-- Worker groups: the ACFTU's "4 groups" (core4 = 1) and the rest of
-- Qinghai's "8 groups" (2018 action plan).
INSERT INTO worker_group(code, name_zh, name_en, core4, sort) VALUES
  ('truck_driver',   '货车司机',     'truck driver',          1, 1),
  ('ride_hailing',   '网约车司机',   'ride-hailing driver',   1, 2),
  ('courier',        '快递员',       'courier',               1, 3),
  ('food_delivery',  '外卖送餐员',   'food-delivery rider',   1, 4),
  ('carer',          '护工护理员',   'carer',                 0, 5),
  ('domestic',       '家政服务员',   'domestic worker',       0, 6),
  ('mall_staff',     '商场信息员',   'mall staff',            0, 7),
  ('estate_agent',   '房产中介员',   'estate agent',          0, 8),
  ('security_guard', '保安员',       'security guard',        0, 9);

-- Entrances (多入口).
INSERT INTO channel(code, name_zh, name_en, sort) VALUES
  ('platform_app',  '平台APP',       'platform app',               1),
  ('qr_oneclick',   '扫码一键入会',  'QR one-click',               2),
  ('mobile_window', '流动入会窗口',  'mobile joining window',      3),
  ('outreach',      '网格员上门',    'outreach',                   4),
  ('inspection',    '车辆检测站',    'vehicle inspection station', 5),
  ('transfer',      '会籍接转',      'transfer',                   6);

INSERT INTO platform(code, name_zh, name_en, sort) VALUES
  ('yunmanman',    '运满满',   'Yunmanman',    1),
  ('kayoudidai',   '卡友地带', 'Kayoudidai',   2),
  ('zhongchu',     '中储智运', 'Zhongchu',     3),
  ('huilong',      '惠龙易通', 'Huilong',      4),
  ('huolala',      '货拉拉',   'Huolala',      5),
  ('didi',         '滴滴出行', 'DiDi',         6),
  ('meituan',      '美团',     'Meituan',      7),
  ('eleme',        '饿了么',   'Ele.me',       8),
  ('sf_express',   '顺丰速运', 'SF Express',   9),
  ('other',        '其他平台', 'other',       99);

INSERT INTO org_kind(code, name_zh, sort) VALUES
  ('province',  '省总工会',         1),
  ('city',      '市总工会',         2),
  ('county',    '县(区)总工会',     3),
  ('township',  '乡镇(街道)工会',   4),
  ('community', '社区(村)工会',     5),
  ('industry',  '行业工会联合会',   6),
  ('platform',  '平台企业工会',     7),
  ('park',      '物流园区工会',     8);
