{# A segment of the heatmap page (collector/reports/heatmap_layers.py): raw scans only, '' = any. #}
{% if filtered is defined and filtered %}
      AND ({country:String} = '' OR country = {country:String})
      AND ({device:String} = '' OR device = {device:String})
      AND ({browser:String} = '' OR browser = {browser:String})
      AND ({os:String} = '' OR os = {os:String})
      AND ({utm_source:String} = '' OR utm_source = {utm_source:String})
      AND ({identified:String} = '' OR (user_id != '') = ({identified:String} = 'yes'))
{% endif %}
